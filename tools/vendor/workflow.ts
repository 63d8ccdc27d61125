// The vendor check's TypeScript workflow: the client OpenAPI Generator's typescript-fetch writes
// from generated/openapi.json, used as a vendor would, against the scforhis sandbox.
//
// node workflow.js BASE_URL INPUTS_JSON
//
// INPUTS_JSON (written by tools/vendor_check.py from the spec): the manual's example of each
// operation, the canonical reply names, and the manual's replies as printed. Prints one line per
// step and exits non-zero when a step does not read Y (or sends other than the example).
import { readFileSync } from "node:fs";
import {
  Configuration,
  CureType,
  DeleteRequestFromJSON,
  type Middleware,
  QueryApi,
  SaveRequestFromJSON,
  UpdateRequestFromJSON,
  UpdateResponseFromJSON,
  UploadApi,
} from "./client/index";

interface Inputs {
  examples: Record<string, Record<string, string>>;
  replyNames: string[];
  printedReplies: Record<string, Record<string, unknown>>;
}

const [baseUrl, inputsPath] = process.argv.slice(2);
const inputs: Inputs = JSON.parse(readFileSync(inputsPath, "utf8"));
let failures = 0;

function check(what: string, ok: boolean, detail = ""): void {
  console.log(`${ok ? "ok  " : "FAIL"} typescript-fetch: ${what}${detail ? ` (${detail})` : ""}`);
  if (!ok) failures += 1;
}

// The few lines the README shows: the service may spell reply members in another letter case
// (the manual prints MSG_CODE, msg_CODE and msG_CODE) and the generated reader matches names
// exactly, so name each member as the document does before the reader sees it.
const canonical = new Map(inputs.replyNames.map((name) => [name.toLowerCase(), name]));
function foldNames(body: unknown): unknown {
  if (body === null || typeof body !== "object" || Array.isArray(body)) return body;
  return Object.fromEntries(
    Object.entries(body).map(([key, value]) => [canonical.get(key.toLowerCase()) ?? key, value]),
  );
}
const replyNamesInAnyCase: Middleware = {
  async post({ response }) {
    if (!response.headers.get("content-type")?.includes("application/json")) return response;
    const body = foldNames(await response.json());
    return new Response(JSON.stringify(body), {
      status: response.status,
      statusText: response.statusText,
      headers: response.headers,
    });
  },
};

// What went on the wire, to compare with the example the body was built from.
const sent: unknown[] = [];
const recordBody: Middleware = {
  async pre({ url, init }) {
    if (typeof init.body === "string") sent.push(JSON.parse(init.body));
    return { url, init };
  },
};

const configuration = new Configuration({
  basePath: baseUrl,
  middleware: [recordBody, replyNamesInAnyCase],
});
const query = new QueryApi(configuration);
const upload = new UploadApi(configuration);
// Members in any order; a null member stands for an absent one (the service binds both alike).
const members = (body: unknown): string =>
  JSON.stringify(
    Object.entries(body as Record<string, unknown>)
      .filter(([, value]) => value !== null && value !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
  );
const same = (a: unknown, b: unknown): boolean => members(a) === members(b);

async function main(): Promise<void> {
  const { examples } = inputs;
  const login = examples.GetTokenID;
  const token = await query.getTokenID({ id: login.id, pwd: login.pwd });
  check("GetTokenID reads Y and a token", token.msGCODE === "Y" && !!token.tokenid);

  const q = examples.GetSCDataB;
  const answer = await query.getSCDataB({
    token: token.tokenid ?? "",
    isBooking: q.isBooking,
    hospid: q.hospid,
    hospseqno: q.hospseqno,
    id: q.id,
    birthday: q.birthday,
    type: q.type as CureType,
    funcdate: q.funcdate,
  });
  check("GetSCDataB reads the eligibility text", answer.includes("可收案"), answer);

  const saved = await upload.save({ saveRequest: SaveRequestFromJSON(examples.Save) });
  check("Save of the manual's example reads Y", saved.msGCODE === "Y", saved.msGINFO ?? "");
  check("Save sends exactly the example", same(sent.at(-1), examples.Save));

  const updated = await upload.update({ updateRequest: UpdateRequestFromJSON(examples.Update) });
  check("Update of the manual's example reads Y", updated.msGCODE === "Y", updated.msGINFO ?? "");
  check("Update sends exactly the example", same(sent.at(-1), examples.Update));

  const deleted = await upload._delete({ deleteRequest: DeleteRequestFromJSON(examples.Delete) });
  check("Delete of the manual's example reads Y", deleted.msGCODE === "Y", deleted.msGINFO ?? "");
  check("Delete sends exactly the example", same(sent.at(-1), examples.Delete));

  // The manual's Update reply as printed (msg_CODE), as the middleware hands it to the reader.
  const printed = foldNames(inputs.printedReplies.Update);
  check("Update's reply as printed reads Y", UpdateResponseFromJSON(printed).msGCODE === "Y");
}

main().then(
  () => process.exit(failures ? 1 : 0),
  (error: unknown) => {
    console.log(`FAIL typescript-fetch: ${String(error)}`);
    process.exit(1);
  },
);
