// Runs one workflow with @saintno/comfyui-sdk the way its README shows:
// ComfyApi.init() + waitForReady(), optionally uploadImage(), a
// PromptBuilder that maps the SaveImage node to an "images" output (and the
// LoadImage inputs to the uploaded name), CallWrapper.run() with its
// callbacks, then getImage() for every output and getHistory() for the
// prompt. Prints one JSON line (see README.md).

import { readFileSync } from "node:fs";
import { CallWrapper, ComfyApi, PromptBuilder } from "@saintno/comfyui-sdk";
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

const library = "@saintno/comfyui-sdk";

async function main() {
  const args = parseCommandLine(process.argv.slice(2));
  const rec = new Recorder();
  const api = new ComfyApi(args.url);
  api.on("all", (ev) => rec.type(ev.detail.type));
  api.on("b_preview", () => rec.type("binary_preview"));
  api.on("progress", (ev) => rec.progressEvent(ev.detail));
  const connected = new Promise((resolve, reject) => {
    api.on("connected", () => resolve());
    api.on("connection_error", (ev) => reject(new Error("connection_error", { cause: ev.detail })));
  });
  api.init(3, 500);
  await withTimeout(Promise.all([connected, api.waitForReady()]), args.timeoutMs, "connect");

  // CallWrapper resolves on the output node's "executed"; ComfyUI writes
  // the history entry later and says so with "executing" for node null,
  // the last message of a run.
  const ended = new Map();
  const runEnd = (id) => {
    if (!ended.has(id)) ended.set(id, deferred());
    return ended.get(id);
  };
  api.on("executing", (ev) => {
    if (ev.detail?.node === null && ev.detail.prompt_id) runEnd(ev.detail.prompt_id).resolve();
  });

  const { builder, upload } = await prepare(api, args);
  const wrapped = [];
  let promptId = null;
  const output = await withTimeout(
    new Promise((resolve, reject) => {
      const call = new CallWrapper(api, builder)
        .onPending((id) => (promptId = id))
        .onProgress((info) => wrapped.push({ node: info.node ?? null, value: info.value, max: info.max }))
        .onFailed((err) => reject(err));
      call.run().then((out) => (out ? resolve(out) : reject(new Error(`CallWrapper.run returned ${out}`))), reject);
    }),
    args.timeoutMs,
    "CallWrapper.run",
  );

  const images = [];
  for (const img of output.images?.images ?? []) {
    const blob = await api.getImage(img);
    images.push({ filename: img.filename, subfolder: img.subfolder, type: img.type, ...pngSize(await blob.arrayBuffer()) });
  }
  await withTimeout(runEnd(promptId).promise, args.timeoutMs, "executing node null");
  const entry = await api.getHistory(promptId);
  api.destroy();
  finish({
    library,
    version: libraryVersion(library),
    prompt_id: promptId,
    upload,
    images,
    history: historySummary(entry),
    progress: rec.progress,
    library_progress: wrapped,
    message_types: rec.types,
  });
}

// prepare builds the PromptBuilder, uploading the image first when the
// workflow loads one.
async function prepare(api, args) {
  const outputs = nodesOfClass(args.workflow, "SaveImage");
  if (outputs.length !== 1) throw new Error(`${args.workflowPath}: want one SaveImage node, have ${outputs.length}`);
  const loads = nodesOfClass(args.workflow, "LoadImage");
  let builder = new PromptBuilder(args.workflow, loads.length ? ["image"] : [], ["images"]).setOutputNode(
    "images",
    outputs[0],
  );
  if (loads.length === 0) return { builder, upload: null };
  if (!args.uploadPath) throw new Error(`${args.workflowPath} has LoadImage nodes: --upload is required`);
  const res = await api.uploadImage(readFileSync(args.uploadPath), args.uploadName);
  if (!res) throw new Error(`uploadImage(${args.uploadName}) failed`);
  builder = builder
    .setInputNode(
      "image",
      loads.map((id) => `${id}.inputs.image`),
    )
    .input("image", res.info.filename);
  return { builder, upload: { name: res.info.name, subfolder: res.info.subfolder, type: res.info.type } };
}

function deferred() {
  let resolve;
  const promise = new Promise((r) => (resolve = r));
  return { promise, resolve };
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
