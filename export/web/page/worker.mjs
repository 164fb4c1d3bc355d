// Inference off the page's thread: onnxruntime-web sessions and every graph run. The page
// posts pictures (RGBA bytes) and gets pictures back, so capture, display and the controls
// never wait for the model. Jobs run one at a time, in the order they come.
//
// Messages in:  {id, type: 'init', site, backend, threads}
//               {id, type: 'style', image}                  -> {mean, std}
//               {id, type: 'stylize', image, mean, std, alpha, tile}
//                                                           -> {image, ms, tiles}
//               {id, type: 'time', size, runs, mean, std}   -> {ms: [...]}
// Messages out: {id, ok: true, ...result} | {id, ok: false, error} | {id, progress: [done, total]}
// An image is {data: Uint8ClampedArray RGBA, width, height}.

import {ChannelSums, crop, featureRegion, tiles, widen} from './tiles.mjs';
import {fromTensor, toTensor} from './pixels.mjs';

const EPS = 1e-5;  // adain.ops.EPS: added to the variance before the square root
let ort, site, provider, sessions = {};
const queue = [];
let busy = false, cancelling = false;

self.onmessage = (event) => {
  if (event.data.type === 'cancel') {  // at once, not queued: the tiled job checks it
    cancelling = busy;
    return;
  }
  queue.push(event.data);
  if (!busy) drain();
};

async function drain() {
  busy = true;
  while (queue.length) {
    const job = queue.shift();
    try {
      const {result, transfer} = await JOBS[job.type](job);
      self.postMessage({id: job.id, ok: true, ...result}, transfer || []);
    } catch (error) {
      self.postMessage({id: job.id, ok: false, error: describe(error)});
    }
  }
  busy = false;
}

function describe(error) {
  const text = String(error && error.message || error);
  if (error && error.kind) return {kind: error.kind, text};
  if (/memory|allocation|out of bounds|Aborted\(\)/i.test(text)) return {kind: 'memory', text};
  return {kind: 'other', text};
}

const JOBS = {
  async init({id, site: manifest, backend, threads}) {
    site = manifest;
    let notice = '';
    const base = new URL('./', self.location.href).href;
    let webgpu = backend === 'webgpu' || backend === 'auto';
    // auto takes a real GPU only: a software (fallback) adapter is slower than WASM.
    if (webgpu && !(await hasWebGPU(backend === 'webgpu'))) {
      if (backend === 'webgpu') notice = 'nowebgpu';
      webgpu = false;
    }
    ort = await importRuntime(base + site.runtime.folder + (webgpu ? 'ort.webgpu.min.mjs' : 'ort.wasm.min.mjs'));
    ort.env.wasm.wasmPaths = base + site.runtime.folder;
    // Every core by default (onnxruntime-web takes half): this worker is not the page's thread.
    ort.env.wasm.numThreads = threads || Math.min(8, self.navigator.hardwareConcurrency || 1);
    ort.env.logLevel = 'error';
    provider = webgpu ? 'webgpu' : 'wasm';
    const names = ['style_encoder', 'stylizer'];
    const total = names.reduce((sum, name) => sum + site.graphs[name].bytes, 0);
    let loaded = 0, shown = 0;
    const onBytes = (bytes) => {
      loaded += bytes;
      if (loaded - shown > total / 50 || loaded === total) {
        shown = loaded;
        self.postMessage({id, progress: [loaded, total]});
      }
    };
    try {
      await Promise.all(names.map((name) => session(name, onBytes)));
    } catch (error) {
      if (error.kind) throw error;
      // onnxruntime-web says only "no available backend" when its .wasm did not load: the
      // page names the folder, the console keeps the runtime's own words.
      console.error(error);
      throw Object.assign(new Error(site.runtime.folder), {kind: 'runtime'});
    }
    const effective = self.crossOriginIsolated ? ort.env.wasm.numThreads : 1;
    return {result: {backend: provider, threads: webgpu ? 0 : effective, notice}};
  },

  async style({image}) {
    const out = await run('style_encoder', {style: tensorOf(image)});
    return {result: {mean: out.style_mean.data, std: out.style_std.data}};
  },

  async stylize({id, image, mean, std, alpha, tile}) {
    const start = performance.now();
    const progress = (done, total) => self.postMessage({id, progress: [done, total]});
    const result = tile ? await stylizeTiled(image, mean, std, alpha, tile, progress)
      : await stylizeWhole(image, mean, std, alpha);
    const out = {data: result, width: image.width, height: image.height};
    return {result: {image: out, ms: performance.now() - start, tiles: tile ? tileCount(image, tile) : 0},
            transfer: [result.buffer]};
  },

  async time({size, runs, mean, std}) {
    const data = new Uint8ClampedArray(size * size * 4).map((_, i) => (i * 37) % 251);
    const image = {data, width: size, height: size};
    await stylizeWhole(image, mean, std, 1);  // warm-up: shapes compile, memory grows
    const ms = [];
    for (let i = 0; i < runs; i++) {
      const start = performance.now();
      await stylizeWhole(image, mean, std, 1);
      ms.push(performance.now() - start);
    }
    return {result: {ms}};
  },
};

async function hasWebGPU(anyAdapter) {
  try {
    const adapter = self.navigator.gpu && await self.navigator.gpu.requestAdapter(
      {powerPreference: 'high-performance'});
    return Boolean(adapter) && (anyAdapter || !(adapter.info && adapter.info.isFallbackAdapter));
  } catch {
    return false;  // a browser that has the API but no adapter, or refuses it
  }
}

async function importRuntime(url) {
  try {
    return await import(url);
  } catch (error) {
    throw Object.assign(new Error(`${url}: ${error.message}`), {kind: 'runtime'});
  }
}

async function session(name, onBytes = () => {}) {
  if (!sessions[name]) {
    const graph = site.graphs[name];
    if (!graph) throw Object.assign(new Error(name), {kind: 'nograph'});
    const bytes = await download(graph.file, onBytes);
    sessions[name] = ort.InferenceSession.create(bytes, {executionProviders: [provider]});
    sessions[name].catch(() => { delete sessions[name]; });  // tried afresh next time
  }
  return sessions[name];
}

/** A file's bytes, `onBytes(n)` as each piece arrives; a missing one fails by name. */
async function download(file, onBytes) {
  const response = await fetch(file);
  if (!response.ok) {
    throw Object.assign(new Error(`${file} is missing from the site (HTTP ${response.status})`),
                        {kind: 'missing'});
  }
  const reader = response.body.getReader();
  const pieces = [];
  let size = 0;
  for (;;) {
    const {done, value} = await reader.read();
    if (done) break;
    pieces.push(value);
    size += value.length;
    onBytes(value.length);
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const piece of pieces) {
    bytes.set(piece, offset);
    offset += piece.length;
  }
  return bytes;
}

async function run(name, feeds) {
  return (await session(name)).run(feeds);
}

function tensorOf(image, region) {
  const {top, bottom, left, right} = region || {top: 0, bottom: image.height, left: 0, right: image.width};
  return new ort.Tensor('float32', toTensor(image.data, image.width, top, bottom, left, right),
                        [1, 3, bottom - top, right - left]);
}

function statsTensor(values) {
  return new ort.Tensor('float32', Float32Array.from(values), [1, values.length, 1, 1]);
}

function scalar(value) {
  return new ort.Tensor('float32', Float32Array.of(value), []);
}

async function stylizeWhole(image, mean, std, alpha) {
  const out = await run('stylizer', {content: tensorOf(image), style_mean: statsTensor(mean),
                                     style_std: statsTensor(std), alpha: scalar(alpha)});
  const rgba = new Uint8ClampedArray(image.width * image.height * 4);
  fromTensor(out.stylized.data, image.height, image.width, 0, 0, image.height, image.width,
             rgba, image.width, 0, 0);
  return rgba;
}

function tileCount(image, size) {
  return tiles(image.height, image.width, size, site.tiling.stride).length;
}

/** relu4_1 features (channels, h, w) of a region of pixels whose edges are multiples of the
 * stride (or the picture's), equal to the whole picture's features at those positions. */
async function featuresOf(image, region) {
  const {stride, encoder_halo: halo} = site.tiling;
  const window = widen(region, halo, image.height, image.width);
  const out = (await run('encoder', {content: tensorOf(image, window)})).features;
  const [, channels, h, w] = out.dims;
  const r0 = (region.top - window.top) / stride, c0 = (region.left - window.left) / stride;
  const rows = Math.ceil((region.bottom - window.top) / stride);
  const cols = Math.ceil((region.right - window.left) / stride);
  return {data: crop(out.data, channels, h, w, r0, rows, c0, cols), channels,
          h: rows - r0, w: cols - c0};
}

/** Two passes over the tiles: the content's statistics, then each tile decoded with its
 * features' halo (encoded again, so memory stays one tile's whatever the picture's size). */
async function stylizeTiled(image, mean, std, alpha, size, progress) {
  const {stride, decoder_halo: halo} = site.tiling;
  const plan = tiles(image.height, image.width, size, stride);
  const total = 2 * plan.length;
  let sums = null, done = 0;
  cancelling = false;
  const step = async () => {
    progress(++done, total);
    // A graph run resolves without giving the event loop a turn: give it one, so that a
    // cancel posted meanwhile is received.
    await new Promise((resolve) => setTimeout(resolve, 0));
    if (cancelling) throw Object.assign(new Error('cancelled'), {kind: 'cancelled'});
  };
  for (const tile of plan) {
    const feat = await featuresOf(image, tile);
    sums = sums || new ChannelSums(feat.channels);
    sums.add(feat.data, feat.h * feat.w);
    await step();
  }
  const content = sums.meanStd(EPS);
  const rgba = new Uint8ClampedArray(image.width * image.height * 4);
  for (const tile of plan) {
    const cells = featureRegion(tile, halo, image.height, image.width, stride);
    const pixels = {top: cells.top * stride, bottom: Math.min(cells.bottom * stride, image.height),
                    left: cells.left * stride, right: Math.min(cells.right * stride, image.width)};
    const feat = await featuresOf(image, pixels);
    const out = (await run('decoder', {
      features: new ort.Tensor('float32', feat.data, [1, feat.channels, feat.h, feat.w]),
      content_mean: statsTensor(content.mean), content_std: statsTensor(content.std),
      style_mean: statsTensor(mean), style_std: statsTensor(std), alpha: scalar(alpha)})).stylized;
    const [, , th, tw] = out.dims;
    fromTensor(out.data, th, tw, tile.top - pixels.top, tile.left - pixels.left,
               tile.bottom - tile.top, tile.right - tile.left, rgba, image.width, tile.top, tile.left);
    await step();
  }
  return rgba;
}
