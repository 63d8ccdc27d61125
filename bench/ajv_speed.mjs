// Ajv's speed on request schemas, for bench/schemas.py. Reads one JSON document from stdin:
//   {"schemas": {"with": {...}, "without": {...}}, "records": {"valid": [...], "invalid": [...]},
//    "seconds": 0.6, "passes": 5}
// and prints {"with": {"valid": {"rate": ..., "verdicts": [...]}, "invalid": {...}}, ...}.
// Each schema is compiled once (draft 2020-12, allErrors, as tools/ajv/check.mjs does); only the
// validation is timed: the best of `passes` passes, each repeated for at least seconds / passes.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

// Ajv is installed under tools/ajv, not beside this file, so resolve it from there.
const tools = join(dirname(fileURLToPath(import.meta.url)), "..", "tools", "ajv");
const require = createRequire(join(tools, "package.json"));
const Ajv2020 = require("ajv/dist/2020.js").default;
const addFormats = require("ajv-formats").default;

function compile(schema) {
  // One instance per schema: both copies carry the same $id. strict: false for the x-* keys.
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  return ajv.compile(schema);
}

function rate(validate, records, seconds, passes) {
  const perPass = BigInt(Math.round((seconds / passes) * 1e9));
  let best = 0;
  for (let pass = 0; pass < passes; pass++) {
    let done = 0;
    const start = process.hrtime.bigint();
    let elapsed;
    for (;;) {
      for (const record of records) {
        validate(record);
      }
      done += records.length;
      elapsed = process.hrtime.bigint() - start;
      if (elapsed >= perPass) break;
    }
    best = Math.max(best, done / (Number(elapsed) / 1e9));
  }
  return best;
}

const input = JSON.parse(readFileSync(0, "utf8"));
const seconds = input.seconds ?? 0.6;
const passes = input.passes ?? 5;
const results = {};
for (const [variant, schema] of Object.entries(input.schemas)) {
  const validate = compile(schema);
  results[variant] = {};
  for (const [kind, records] of Object.entries(input.records)) {
    const verdicts = records.map((record) => validate(record));
    // Warm the JIT up on these records before timing them.
    for (let round = 0; round < 3; round++) records.forEach((record) => validate(record));
    results[variant][kind] = { rate: rate(validate, records, seconds, passes), verdicts };
  }
}
process.stdout.write(JSON.stringify(results) + "\n");
