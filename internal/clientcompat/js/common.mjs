// Shared plumbing of the client scripts: arguments, the workflow file, PNG
// headers and the one JSON line every script prints. Nothing here talks to
// the server: that is each library's job.

import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { parseArgs } from "node:util";

// parseCommandLine reads the flags every script takes:
//   --url URL          the ComfyUI-compatible base URL (required)
//   --workflow FILE    an API-format graph (required)
//   --upload FILE      an image to upload first; its name replaces the
//                      "image" input of every LoadImage node
//   --timeout-ms N     gives up after N ms (default 60000)
export function parseCommandLine(argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      url: { type: "string" },
      workflow: { type: "string" },
      upload: { type: "string" },
      "timeout-ms": { type: "string", default: "60000" },
    },
    strict: true,
  });
  if (!values.url) throw new Error("--url is required");
  if (!values.workflow) throw new Error("--workflow is required");
  const timeoutMs = Number(values["timeout-ms"]);
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) {
    throw new Error(`--timeout-ms ${values["timeout-ms"]}: want a positive integer`);
  }
  const url = new URL(values.url);
  return {
    url: url.origin,
    host: url.host,
    workflowPath: values.workflow,
    workflow: JSON.parse(readFileSync(values.workflow, "utf8")),
    uploadPath: values.upload ?? null,
    uploadName: values.upload ? basename(values.upload) : null,
    timeoutMs,
  };
}

// nodesOfClass lists the ids of the workflow's nodes of one class.
export function nodesOfClass(workflow, classType) {
  return Object.keys(workflow).filter((id) => workflow[id]?.class_type === classType);
}

// libraryVersion reads the installed version of a package from its own
// package.json (the exports maps of the libraries hide it from import).
export function libraryVersion(name) {
  const url = new URL(`./node_modules/${name}/package.json`, import.meta.url);
  return JSON.parse(readFileSync(url, "utf8")).version;
}

const pngSignature = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

// pngSize reads width and height from a PNG's IHDR chunk, or returns the
// first bytes in hex when the data is not a PNG.
export function pngSize(bytes) {
  const b = Buffer.from(bytes);
  const isPNG =
    b.length >= 24 &&
    pngSignature.every((v, i) => b[i] === v) &&
    b.toString("latin1", 12, 16) === "IHDR";
  if (!isPNG) {
    return { format: "unknown", bytes: b.length, head: b.subarray(0, 8).toString("hex") };
  }
  return { format: "png", bytes: b.length, width: b.readUInt32BE(16), height: b.readUInt32BE(20) };
}

// Recorder keeps what the script saw on the WebSocket: the distinct
// message types in arrival order and the progress events.
export class Recorder {
  constructor() {
    this.types = [];
    this.progress = [];
  }

  type(t) {
    if (!this.types.includes(t)) this.types.push(t);
  }

  progressEvent(d) {
    if (d) this.progress.push({ prompt_id: d.prompt_id ?? null, node: d.node ?? null, value: d.value, max: d.max });
  }
}

// withTimeout rejects when p has not settled after ms.
export function withTimeout(p, ms, what) {
  let timer;
  const t = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no result after ${ms} ms`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

// finish prints the result as one JSON line and exits once it is written
// (the libraries keep timers and sockets that would hold the process).
export function finish(result) {
  process.stdout.write(JSON.stringify(result) + "\n", () => process.exit(0));
}

// fail prints err to stderr and exits with status 1.
export function fail(err) {
  const cause = err?.cause !== undefined ? ` (cause: ${describe(err.cause)})` : "";
  process.stderr.write(`${err?.stack ?? err}${cause}\n`, () => process.exit(1));
}

function describe(v) {
  if (v instanceof Error) return v.message;
  try {
    return JSON.stringify(v);
  } catch {
    return String(v);
  }
}
