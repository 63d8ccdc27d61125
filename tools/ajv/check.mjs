// Validates every payload of generated/test-vectors with the generated JSON Schemas using Ajv
// (draft 2020-12), and prints the verdicts as JSON: {"Save": {"missing/account": false, ...}, ...}.
import { readFileSync, readdirSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import Ajv2020 from "ajv/dist/2020.js";
import addFormats from "ajv-formats";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "generated");
// strict: false because the schemas carry x-* annotations (x-enum-varnames and the like).
const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv);

const verdicts = {};
for (const name of readdirSync(join(root, "test-vectors")).sort()) {
  const document = JSON.parse(readFileSync(join(root, "test-vectors", name), "utf8"));
  const schemaPath = join(root, "schemas", `${document.operation}.request.schema.json`);
  const validate = ajv.compile(JSON.parse(readFileSync(schemaPath, "utf8")));
  verdicts[document.operation] = {};
  for (const vector of document.vectors) {
    verdicts[document.operation][vector.name] = validate(vector.payload);
  }
}
process.stdout.write(JSON.stringify(verdicts) + "\n");
