// The official TypeScript SDK's MCP client, driven by the Go tests and the
// benchmark (cmd/carapace/mcp_ts_test.go). One JSON argument:
//   {"mode": "check" | "bench",
//    "stdio": {"command", "args", "env"} | "http": {"url", "token"},
//    "read": "/abs/file", "refused": "/abs/other",      (check)
//    "path": "/abs/file", "n": 2000, "concurrency": 16}  (bench)
// It prints one JSON object on stdout.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const cfg = JSON.parse(process.argv[2]);

function transport() {
  if (cfg.stdio) {
    return new StdioClientTransport({ command: cfg.stdio.command, args: cfg.stdio.args, env: cfg.stdio.env, stderr: "inherit" });
  }
  return new StreamableHTTPClientTransport(new URL(cfg.http.url), {
    requestInit: { headers: { Authorization: "Bearer " + cfg.http.token } },
  });
}

function text(res) {
  return { text: (res.content || []).filter((c) => c.type === "text").map((c) => c.text).join("\n"), isError: !!res.isError };
}

const client = new Client({ name: "carapace-ts-test", version: "1" });
await client.connect(transport());

if (cfg.mode === "check") {
  const tools = (await client.listTools()).tools.map((t) => t.name).sort();
  const read = text(await client.callTool({ name: "read_text_file", arguments: { path: cfg.read } }));
  const refused = text(await client.callTool({ name: "read_text_file", arguments: { path: cfg.refused } }));
  let unknown;
  try {
    await client.callTool({ name: "no_such_tool", arguments: {} });
    unknown = "no error";
  } catch (e) {
    unknown = String(e.code ?? e.message);
  }
  console.log(JSON.stringify({ server: client.getServerVersion()?.name, protocol: client.getNegotiatedProtocolVersion?.() ?? "", tools, read, refused, unknown }));
} else {
  // Warm up, then n calls, `concurrency` in flight at a time.
  for (let i = 0; i < 50; i++) await client.callTool({ name: "read_text_file", arguments: { path: cfg.path } });
  const lat = [];
  let next = 0, bad = 0;
  const start = process.hrtime.bigint();
  async function worker() {
    while (next < cfg.n) {
      next++;
      const t0 = process.hrtime.bigint();
      const res = await client.callTool({ name: "read_text_file", arguments: { path: cfg.path } });
      lat.push(Number(process.hrtime.bigint() - t0) / 1000);
      if (res.isError) bad++;
    }
  }
  await Promise.all(Array.from({ length: cfg.concurrency }, worker));
  const secs = Number(process.hrtime.bigint() - start) / 1e9;
  lat.sort((a, b) => a - b);
  const q = (p) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))];
  console.log(JSON.stringify({ n: lat.length, errors: bad, p50_us: q(0.5), p99_us: q(0.99), per_sec: lat.length / secs }));
}
await client.close();
