// Runs one workflow with @stable-canvas/comfyui-client the way its README
// shows for Node: a Client given the ws package's WebSocket, connect(),
// enqueue() with a progress callback, then a fetch of every image URL the
// library resolved and getHistory() for the prompt. The library has no
// upload call, so --upload is refused. Prints one JSON line (see README.md).

import { Client } from "@stable-canvas/comfyui-client";
import WebSocket from "ws";
import {
  Recorder,
  fail,
  finish,
  libraryVersion,
  nodesOfClass,
  parseCommandLine,
  pngSize,
  withTimeout,
} from "./common.mjs";

const library = "@stable-canvas/comfyui-client";

async function main() {
  const args = parseCommandLine(process.argv.slice(2));
  if (args.uploadPath || nodesOfClass(args.workflow, "LoadImage").length > 0) {
    throw new Error(`${library} has no upload call: LoadImage workflows are not supported`);
  }
  const rec = new Recorder();
  const client = new Client({ api_host: args.host, WebSocket, fetch: globalThis.fetch });
  client.events.on("message", (ev) => {
    if (typeof ev.data === "string") rec.type(JSON.parse(ev.data).type);
    else rec.type("binary");
  });
  client.on("progress", (d) => rec.progressEvent(d));
  // enqueue() resolves on the output node's "executed"; ComfyUI writes the
  // history entry later and says so with "executing" for node null, the
  // last message of a run.
  const ends = new Set();
  let onEnd = () => {};
  client.on("executing", (d) => {
    if (d?.node === null && d.prompt_id) {
      ends.add(d.prompt_id);
      onEnd();
    }
  });
  await withTimeout(client.connect({ timeout_ms: args.timeoutMs }), args.timeoutMs, "connect");

  const own = [];
  const out = await withTimeout(
    client.enqueue(args.workflow, {
      progress: (d) => own.push({ node: d.node ?? null, value: d.value, max: d.max }),
      timeout_ms: args.timeoutMs,
    }),
    args.timeoutMs,
    "enqueue",
  );

  const images = [];
  for (const img of out.images ?? []) {
    if (img.type !== "url") throw new Error(`enqueue returned an image of type ${img.type}, want url`);
    const res = await fetch(img.data);
    if (!res.ok) throw new Error(`GET ${img.data}: ${res.status} ${await res.text()}`);
    const q = new URL(img.data).searchParams;
    images.push({
      filename: q.get("filename"),
      subfolder: q.get("subfolder"),
      type: q.get("type"),
      ...pngSize(await res.arrayBuffer()),
    });
  }
  await withTimeout(
    new Promise((resolve) => {
      onEnd = () => ends.has(out.prompt_id) && resolve();
      onEnd();
    }),
    args.timeoutMs,
    "executing node null",
  );
  const { History } = await client.getHistory();
  const entry = History.find((h) => h.prompt?.[1] === out.prompt_id);
  client.close();
  finish({
    library,
    version: libraryVersion(library),
    prompt_id: out.prompt_id,
    upload: null,
    images,
    history: historySummary(entry),
    progress: rec.progress,
    library_progress: own,
    message_types: rec.types,
  });
}

function historySummary(entry) {
  if (!entry) return null;
  const files = [];
  for (const out of Object.values(entry.outputs ?? {})) {
    for (const img of out?.images ?? []) files.push(img.filename);
  }
  return {
    status_str: entry.status?.status_str ?? null,
    completed: entry.status?.completed ?? null,
    output_nodes: Object.keys(entry.outputs ?? {}),
    files,
  };
}

main().catch(fail);
