"""The vendor check's Python workflow: the client OpenAPI Generator's `python` writes from
generated/openapi.json (package `scforhis_openapi`), used as a vendor would, against the sandbox.

    python workflow_client.py CLIENT_DIR BASE_URL INPUTS_JSON

INPUTS_JSON is what tools/vendor_check.py writes from the spec (the manual's examples, the
canonical reply names, the manual's replies as printed). Prints one line per step; exits 1 when
a step does not read Y, or a body would go out other than the example it was built from.
"""

from __future__ import annotations

import json
import sys
from typing import Any


def main(client_dir: str, base_url: str, inputs_path: str) -> int:
    """Run the workflow; return the number of failed steps."""
    sys.path.insert(0, client_dir)
    import scforhis_openapi as api  # type: ignore[import-not-found]  # generated at check time

    with open(inputs_path, encoding="utf-8") as file:
        inputs = json.load(file)
    examples: dict[str, dict[str, str]] = inputs["examples"]
    canonical = {name.lower(): name for name in inputs["replyNames"]}
    failures = 0

    def check(what: str, ok: bool, detail: str = "") -> None:
        nonlocal failures
        failures += not ok
        print(f"{'ok  ' if ok else 'FAIL'} python: {what}{f' ({detail})' if detail else ''}")

    def fold(text: str) -> str:
        data = json.loads(text)
        if isinstance(data, dict):
            data = {canonical.get(k.lower(), k): v for k, v in data.items()}
        return json.dumps(data, ensure_ascii=False)

    class CaseInsensitiveApiClient(api.ApiClient):  # type: ignore[misc]
        """The README's few lines: reply member names matched ignoring letter case."""

        def deserialize(self, response_text: str, response_type: str, content_type: Any) -> Any:
            if response_text and content_type and content_type.startswith("application/json"):
                response_text = fold(response_text)
            return super().deserialize(response_text, response_type, content_type)

    def wire(reply: Any) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(reply.to_json())
        return data

    code = next(name for name in inputs["replyNames"] if name.lower() == "msg_code")
    with CaseInsensitiveApiClient(api.Configuration(host=base_url)) as client:
        query, upload = api.QueryApi(client), api.UploadApi(client)
        login = examples["GetTokenID"]
        token = wire(query.get_token_id(id=login["id"], pwd=login["pwd"]))
        token_name = next(n for n in inputs["replyNames"] if n.lower() == "tokenid")
        check("GetTokenID reads Y and a token", token[code] == "Y" and bool(token[token_name]))
        q = examples["GetSCDataB"]
        answer = query.get_sc_data_b(
            token=token[token_name],
            is_booking=q["isBooking"],
            hospid=q["hospid"],
            hospseqno=q["hospseqno"],
            id=q["id"],
            birthday=q["birthday"],
            type=api.CureType(q["type"]),
            funcdate=q["funcdate"],
        )
        check("GetSCDataB reads the eligibility text", "可收案" in answer, answer)
        for name, model, send in (
            ("Save", api.SaveRequest, upload.save),
            ("Update", api.UpdateRequest, upload.update),
            ("Delete", api.DeleteRequest, upload.delete),
        ):
            body = model.from_dict(examples[name])
            # The generated model sends null for each nullable field it was not given; the
            # service binds null as absent, so only the other members must be the example's.
            on_wire = client.sanitize_for_serialization(body)
            given = {k: v for k, v in on_wire.items() if v is not None}
            check(f"{name} would send the example", given == examples[name], str(on_wire))
            reply = wire(send(body))
            check(f"{name} of the manual's example reads Y", reply.get(code) == "Y", str(reply))
        printed = api.UpdateResponse.from_json(fold(json.dumps(inputs["printedReplies"]["Update"])))
        check("Update's reply as printed reads Y", wire(printed).get(code) == "Y")
    return failures


if __name__ == "__main__":
    sys.exit(1 if main(*sys.argv[1:4]) else 0)
