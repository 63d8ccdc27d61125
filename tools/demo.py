"""`make demo`: the whole workflow against the embedded sandbox, with the generated client.

Starts the sandbox on a free loopback port with a fresh SQLite database, then: a token,
eligibility with booking, a first-visit Save, a follow-up Save, an Update, a Delete, and one
invalid record showing the validator's zh-TW and English messages. Stops the sandbox at the end.
"""

from __future__ import annotations

import sys
import tempfile
from datetime import date, timedelta
from pathlib import Path

import scforhis
from codegen.load import load_spec
from codegen.model import build_model
from scforhis.sandbox.app import SandboxThread
from scforhis.sandbox.settings import SandboxConfig

ROOT = Path(__file__).resolve().parent.parent


def step(number: int, title: str) -> None:
    """Print a step heading."""
    print(f"\n[{number}] {title}")


def main() -> int:
    """Run the workflow; return 0 when every step gave the expected answer."""
    spec = build_model(load_spec(ROOT / "spec" / "scforhis.yaml"))
    example = dict(spec.operation("Save").examples[0].request)
    visit = date.today() - timedelta(days=7)
    follow_up = visit + timedelta(days=7)
    first_visit = {
        **example,
        "curE_AGREE": "Y",
        "funC_DATE": visit.strftime("%Y/%m/%d"),
        "examyear": str(visit.year - 1911),
        "curE_STAGE": "1",
    }
    print(f"scforhis demo: {spec.api.name} {spec.api.manual_version} against the embedded sandbox")
    failures = 0
    with (
        tempfile.TemporaryDirectory() as folder,
        SandboxThread(SandboxConfig(), Path(folder) / "sandbox.db") as sandbox,
    ):
        print(f"sandbox: {sandbox.url} (fresh database in {folder})")
        settings = {"account": example["account"], "password": example["password"]}
        with scforhis.Client(base_url=sandbox.url, **settings) as client:
            step(1, "GetTokenID 取得 TokenID")
            token = client.get_token_id()
            print(f"  {token!r}  (the value itself is never printed or logged)")

            step(2, "GetSCDataB 個案可否收案查詢（預留收案 with booking）")
            answer = client.get_sc_data_b(
                is_booking=True, hosp_id=example["hosP_ID"], hosp_seq_no=example["hosP_SEQ_NO"],
                id=example["id"], birthday=date(1961, 1, 1), cure_type="1", func_date=visit,
            )  # fmt: skip
            print(
                f"  eligible={answer.eligible} reserved={answer.reserved} message={answer.message}"
            )
            failures += not answer.eligible

            for number, title, record in (
                (3, "Save 新增（初診 first visit）", first_visit),
                (4, "Save 新增（複診 follow-up）", {**first_visit, "curE_AGREE": "N", "funC_DATE": follow_up.strftime("%Y/%m/%d")}),
            ):  # fmt: skip
                step(number, title)
                result = client.save(record)
                print(f"  ok={result.ok} code={result.code} info={result.info}")
                failures += not result.ok

            step(5, "Update 更新（每日支數 cigarettes a day 11 -> 8）")
            result = client.update({**first_visit, "smokE_DAY_NUM": "8"})
            print(f"  ok={result.ok} code={result.code} info={result.info}")
            failures += not result.ok

            step(6, "Delete 刪除（複診紀錄 the follow-up record）")
            result = client.delete({**first_visit, "funC_DATE": follow_up.strftime("%Y/%m/%d")})
            print(f"  ok={result.ok} code={result.code} info={result.info}")
            failures += not result.ok

            step(7, "一筆有錯的紀錄 an invalid record: never sent")
            broken = {**first_visit, "id": "A123456788", "funC_DATE": "111/10/03", "height": ""}
            broken["smokE_YEARS"] = broken.pop("smokE_YEAR")  # a typo: warned, with a suggestion
            try:
                client.save(broken)
                failures += 1
                print("  unexpectedly sent")
            except scforhis.ValidationError as error:
                for issue in error.result.errors + error.result.warnings:
                    print(
                        f"  {issue.field} [{issue.code}]\n    {issue.message}\n    {issue.message_en}"
                    )
    print(f"\n{'完成 done' if not failures else f'{failures} step(s) failed'}; sandbox stopped.")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
