// Parses every diagram given as a JSON list on stdin with Mermaid's own parser; prints one
// JSON result per diagram: {"ok": true, "type": "sequence"} or {"ok": false, "error": "..."}.
import mermaid from "mermaid";

let input = "";
for await (const chunk of process.stdin) input += chunk;
const results = [];
for (const text of JSON.parse(input)) {
  try {
    const parsed = await mermaid.parse(text);
    results.push({ ok: true, type: parsed.diagramType });
  } catch (error) {
    results.push({ ok: false, error: String(error && error.message ? error.message : error) });
  }
}
process.stdout.write(JSON.stringify(results));
