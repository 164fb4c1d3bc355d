// The page: content (camera, an uploaded or dropped photo), styles (bundled or uploaded, each
// encoded once and cached), the controls, and what it shows. Inference runs in worker.mjs.
//
// URL parameters (for links, tests and benchmarks): backend=auto|wasm|webgpu, threads=N,
// size=N (camera, longer side), photo=N (photo, shorter side; 0 full size), style=N (styles'
// shorter side, default 512), tile=N (tiles of N px for every photo).

import {Inference} from './inference.mjs';
import * as say from './messages.mjs';
import {fitLonger, fitShorter, keepColours} from './pixels.mjs';

const STYLE_SIZE = 512;  // a style's shorter side, as adain stylize's --style-size default
// Pictures above this many pixels are stylised in tiles, which keeps memory to one tile's
// (phones hold far less than desktops) and shows progress. The whole stylizer ran at 2048 x
// 2048 in Chromium's WASM here, so this leaves room.
const WHOLE_LIMIT = 2 * 1024 * 1024;
const TILE = 512;
const CAMERA_DEPTH = 2;  // frames in the worker at once: one running, one waiting

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const inference = new Inference();
const state = {
  site: null, backend: '', threads: 0, styles: [], first: 0, second: null, blend: 0.5,
  alpha: 1, colours: false, photo: null, photoName: '', camera: null, paused: false,
  inFlight: 0, frameTimes: [], ms: 0, dirty: false, busy: false, recorder: null,
};
// For tests, benchmarks and the console: what the last stylisation took and gave.
const api = window.adain = {state, done: 0, last: null, errors: [], ready: null, bench,
                            styleStats: (index) => statsOf(index)};

function showError(sentence) {
  api.errors.push(sentence);
  $('error').textContent = sentence;
  $('error').hidden = false;
}

function clearError() {
  $('error').hidden = true;
}

function setStatus(text) {
  $('status').textContent = text;
}

function readout() {
  const where = state.backend === 'webgpu' ? 'WebGPU'
    : `WASM, ${state.threads} thread${state.threads === 1 ? '' : 's'}`;
  const isolated = state.backend === 'wasm' && !crossOriginIsolated ? ` (${say.NO_THREADS})` : '';
  let speed = '';
  if (state.camera && state.frameTimes.length > 1) {
    const t = state.frameTimes;
    speed = ` · ${((t.length - 1) * 1000 / (t[t.length - 1] - t[0])).toFixed(1)} fps · ` +
            `${state.ms.toFixed(0)} ms/frame`;
  } else if (state.ms) {
    speed = ` · ${state.ms.toFixed(0)} ms`;
  }
  $('readout').textContent = `${where}${isolated}${speed}`;
}

// -- pictures -----------------------------------------------------------------------------

async function decode(blob, name) {
  try {
    return await createImageBitmap(blob, {imageOrientation: 'from-image'});
  } catch {
    throw {sentence: say.pictureError(name)};
  }
}

/** A picture (bitmap or video) at height x width, transparency on white, as RGBA bytes. */
function pixelsOf(source, height, width) {
  const canvas = new OffscreenCanvas(width, height);
  const context = canvas.getContext('2d', {willReadFrequently: true});
  context.fillStyle = '#fff';
  context.fillRect(0, 0, width, height);
  context.imageSmoothingQuality = 'high';
  context.drawImage(source, 0, 0, width, height);
  const {data} = context.getImageData(0, 0, width, height);
  return {data, width, height};
}

function show(image) {
  const canvas = $('output');
  canvas.width = image.width;
  canvas.height = image.height;
  canvas.getContext('2d').putImageData(new ImageData(image.data, image.width, image.height), 0, 0);
}

// -- styles -------------------------------------------------------------------------------

function addStyle(style) {
  const button = document.createElement('button');
  button.type = 'button';
  button.title = style.title + (style.author ? `, ${style.author}` : '');
  button.setAttribute('role', 'option');
  const img = document.createElement('img');
  img.src = style.url;
  img.alt = style.title;
  button.append(img);
  const index = state.styles.push({...style, button, stats: null}) - 1;
  button.addEventListener('click', (event) => pickStyle(index, event.shiftKey));
  let timer = null;  // a long press blends, as shift-click does
  button.addEventListener('touchstart', () => { timer = setTimeout(() => { timer = 'long'; }, 500); });
  button.addEventListener('touchend', (event) => {
    if (timer === 'long') { event.preventDefault(); pickStyle(index, true); }
    clearTimeout(timer);
    timer = null;
  });
  $('styles').append(button);
  return index;
}

async function statsOf(index) {
  const style = state.styles[index];
  if (!style.stats) {
    style.stats = (async () => {
      const response = await fetch(style.url);
      if (!response.ok) throw {sentence: `The style ${style.file} is missing (HTTP ${response.status}): ${say.REBUILD}.`};
      const bitmap = await decode(await response.blob(), style.title);
      const size = Number(params.get('style') ?? STYLE_SIZE);
      const [h, w] = fitShorter(bitmap.height, bitmap.width, size);
      const image = pixelsOf(bitmap, h, w);
      const {mean, std} = await inference.call('style', {image});
      return {mean, std, image};
    })();
    style.stats.catch(() => { style.stats = null; });  // a failure is tried again next time
  }
  return style.stats;
}

async function currentStats() {
  const a = await statsOf(state.first);
  if (state.second === null) return a;
  const b = await statsOf(state.second);
  const t = state.blend;  // AdaIN is affine in the statistics: this blends the results exactly
  return {mean: a.mean.map((v, i) => (1 - t) * v + t * b.mean[i]),
          std: a.std.map((v, i) => (1 - t) * v + t * b.std[i])};
}

function pickStyle(index, asSecond) {
  if (asSecond && index !== state.first) state.second = index;
  else if (!asSecond) {
    state.first = index;
    if (state.second === index) state.second = null;
  }
  for (const [i, style] of state.styles.entries()) {
    style.button.setAttribute('aria-selected', String(i === state.first));
    style.button.classList.toggle('second', i === state.second);
  }
  $('blend-row').hidden = state.second === null;
  restyle();
}

function styleName() {
  const name = (i) => state.styles[i].name;
  return state.second === null ? name(state.first) : `${name(state.first)}+${name(state.second)}`;
}

// -- stylising ----------------------------------------------------------------------------

function hasTiles() {
  return Boolean(state.site.graphs.encoder && state.site.graphs.decoder);
}

/** How to stylise a picture of this size: {height, width, tile, note}. */
function plan(height, width) {
  const forced = Number(params.get('tile')) || 0;
  if (forced && hasTiles() && Math.max(height, width) > forced) {
    return {height, width, tile: forced, note: `in tiles of ${forced} px`};
  }
  if (height * width <= WHOLE_LIMIT) return {height, width, tile: 0, note: ''};
  if (hasTiles()) return {height, width, tile: TILE, note: `in tiles of ${TILE} px`};
  const scale = Math.sqrt(WHOLE_LIMIT / (height * width));
  const h = Math.floor(height * scale), w = Math.floor(width * scale);
  return {height: h, width: w, tile: 0,
          note: `at ${w}×${h}, the largest this site holds (it has no tile graphs: ${say.REBUILD})`};
}

async function stylize(image, onProgress) {
  const stats = await currentStats();
  const job = {image: {...image, data: image.data.slice()}, mean: stats.mean, std: stats.std,
               alpha: state.alpha, tile: plan(image.height, image.width).tile};
  let result;
  try {
    result = await inference.call('stylize', job, [job.image.data.buffer], onProgress);
  } catch (error) {
    throw {sentence: say.workerError(error, `${image.width}×${image.height}`)};
  }
  const output = result.image;
  if (state.colours) keepColours(output.data, image.data);
  api.last = {input: image, output, mean: stats.mean, std: stats.std, alpha: state.alpha,
              tiles: result.tiles, ms: result.ms};
  api.done++;
  return {output, ms: result.ms, tiles: result.tiles};
}

async function stylizePhoto() {
  if (!state.photo || state.camera) return;
  if (state.busy) { state.dirty = true; return; }
  state.busy = true;
  try {
    do {
      state.dirty = false;
      const size = Number($('photo-size').value);
      const [h, w] = fitShorter(state.photo.height, state.photo.width, size);
      const how = plan(h, w);
      setStatus(`stylising ${how.width}×${how.height} ${how.note}…`);
      const {output, ms, tiles} = await stylize(pixelsOf(state.photo, how.height, how.width),
                                                progress);
      show(output);
      state.ms = ms;
      setStatus(`${how.width}×${how.height}${tiles ? `, ${tiles} tiles` : ''} ${how.note}`);
      clearError();
    } while (state.dirty);
  } catch (error) {
    report(error);
  } finally {
    state.busy = false;
    $('progress').hidden = true;
    readout();
  }
}

function progress(done, total) {
  $('progress').hidden = false;
  $('progress').value = done / total;
}

function report(error) {
  console.error(error);
  showError(error && error.sentence ? error.sentence : say.workerError({kind: 'other', text: String(error && error.message || error)}));
}

function restyle() {
  if (state.camera) return;  // the next frame takes the new settings
  stylizePhoto();
}

// -- camera -------------------------------------------------------------------------------

async function startCamera() {
  if (state.camera) return;
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    showError(say.NO_CAMERA_API);
    return;
  }
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({video: {width: {ideal: 1280}, height: {ideal: 720}}, audio: false});
  } catch (error) {
    showError(say.cameraError(error));
    return;
  }
  clearError();
  const video = $('camera');
  video.srcObject = stream;
  await video.play();
  video.hidden = false;
  state.camera = stream;
  state.frameTimes = [];
  $('use-camera').classList.add('on');
  $('record').hidden = $('pause').hidden = false;
  pump();
}

function stopCamera() {
  if (!state.camera) return;
  if (state.recorder) toggleRecording();
  for (const track of state.camera.getTracks()) track.stop();
  state.camera = null;
  $('camera').hidden = true;
  $('use-camera').classList.remove('on');
  $('record').hidden = $('pause').hidden = true;
  readout();
  stylizePhoto();
}

function cameraFrame() {
  const video = $('camera');
  const size = Number($('camera-size').value);
  const [h, w] = fitLonger(video.videoHeight, video.videoWidth, size, state.site.min_side);
  return pixelsOf(video, h, w);
}

/** Keep CAMERA_DEPTH frames in the worker: while one runs the next is captured and waits,
 * so the model never idles and the page never waits for it. */
function pump() {
  while (state.camera && !state.paused && state.inFlight < CAMERA_DEPTH && $('camera').videoWidth) {
    state.inFlight++;
    stylize(cameraFrame()).then(({output, ms}) => {
      if (!state.camera) return;
      show(output);
      setStatus(`camera ${output.width}×${output.height}${state.paused ? ', paused' : ''}`);
      state.ms = ms;
      state.frameTimes = [...state.frameTimes.slice(-29), performance.now()];
      readout();
    }).catch((error) => {
      report(error);
      stopCamera();
    }).finally(() => {
      state.inFlight--;
      pump();
    });
  }
}

function togglePause() {
  state.paused = !state.paused;
  $('pause').classList.toggle('on', state.paused);
  setStatus(state.paused ? 'paused' : '');
  pump();
}

function toggleRecording() {
  if (state.recorder) {
    state.recorder.stop();
    state.recorder = null;
    $('record').classList.remove('on');
    return;
  }
  const chunks = [];
  const recorder = new MediaRecorder($('output').captureStream(30), {mimeType: 'video/webm'});
  recorder.ondataavailable = (event) => chunks.push(event.data);
  recorder.onstop = () => download(new Blob(chunks, {type: 'video/webm'}), `adain_${styleName()}_${stamp()}.webm`);
  recorder.start();
  state.recorder = recorder;
  $('record').classList.add('on');
}

// -- full-size snapshot -------------------------------------------------------------------

async function snapshot() {
  const video = $('camera');
  const source = state.camera ? video : state.photo;
  if (!source) return;
  const height = state.camera ? video.videoHeight : state.photo.height;
  const width = state.camera ? video.videoWidth : state.photo.width;
  const how = plan(height, width);
  setStatus(`saving ${how.width}×${how.height} ${how.note}…`);
  try {
    const {output} = await stylize(pixelsOf(source, how.height, how.width), progress);
    const canvas = new OffscreenCanvas(output.width, output.height);
    canvas.getContext('2d').putImageData(new ImageData(output.data, output.width, output.height), 0, 0);
    const base = state.camera ? `camera_${stamp()}` : state.photoName.replace(/\.[^.]*$/, '');
    const name = `${base}_stylized_${styleName()}.png`;
    download(await canvas.convertToBlob({type: 'image/png'}), name);
    api.snapshot = {name, width: output.width, height: output.height};
    setStatus(`saved ${name} (${output.width}×${output.height})`);
  } catch (error) {
    report(error);
  } finally {
    $('progress').hidden = true;
  }
}

function download(blob, name) {
  const link = document.createElement('a');
  link.href = URL.createObjectURL(blob);
  link.download = name;
  link.click();
  setTimeout(() => URL.revokeObjectURL(link.href), 60000);
}

function stamp() {
  return new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
}

// -- input: files, drops, keys ------------------------------------------------------------

async function usePhoto(file) {
  try {
    state.photo = await decode(file, file.name);
    state.photoName = file.name;
    stopCamera();
    clearError();
    await stylizePhoto();
  } catch (error) {
    report(error);
  }
}

async function useStyleFile(file) {
  try {
    await decode(file, file.name);  // refuses a file that is not a picture, in words
    const index = addStyle({name: file.name.replace(/\.[^.]*$/, ''), title: file.name,
                            author: '', url: URL.createObjectURL(file), file: file.name});
    pickStyle(index, false);
  } catch (error) {
    report(error);
  }
}

function onKey(event) {
  if (event.target.matches('input, select, textarea') && event.key !== 'Escape') return;
  const n = state.styles.length;
  switch (event.key) {
    case 'q': case 'Escape': stopCamera(); break;
    case ' ': event.preventDefault(); togglePause(); break;
    case 'n': pickStyle((state.first + 1) % n, false); break;
    case 'p': pickStyle((state.first + n - 1) % n, false); break;
    case '+': case '=': setAlpha(state.alpha + 0.1); break;
    case '-': setAlpha(state.alpha - 0.1); break;
    case 'c': $('colours').checked = !state.colours; setColours(); break;
    case 's': snapshot(); break;
    case 'r': if (state.camera) toggleRecording(); break;
    default: return;
  }
}

function setAlpha(value) {
  state.alpha = Math.round(Math.min(1, Math.max(0, value)) * 100) / 100;
  $('alpha').value = state.alpha;
  $('alpha-value').textContent = state.alpha.toFixed(2);
  restyle();
}

function setColours() {
  state.colours = $('colours').checked;
  restyle();
}

function wire() {
  $('use-camera').addEventListener('click', () => (state.camera ? stopCamera() : startCamera()));
  $('photo-file').addEventListener('change', (e) => e.target.files[0] && usePhoto(e.target.files[0]));
  $('style-file').addEventListener('change', (e) => e.target.files[0] && useStyleFile(e.target.files[0]));
  $('snapshot').addEventListener('click', snapshot);
  $('record').addEventListener('click', toggleRecording);
  $('pause').addEventListener('click', togglePause);
  $('alpha').addEventListener('input', (e) => setAlpha(Number(e.target.value)));
  $('blend').addEventListener('input', (e) => {
    state.blend = Number(e.target.value);
    $('blend-value').textContent = state.blend.toFixed(2);
    restyle();
  });
  $('unblend').addEventListener('click', () => { state.second = null; pickStyle(state.first, false); });
  $('colours').addEventListener('change', setColours);
  $('photo-size').addEventListener('change', restyle);
  document.addEventListener('keydown', onKey);
  const stage = document.body;
  stage.addEventListener('dragover', (e) => { e.preventDefault(); $('drop').hidden = false; });
  stage.addEventListener('dragleave', (e) => { if (!e.relatedTarget) $('drop').hidden = true; });
  stage.addEventListener('drop', (e) => {
    e.preventDefault();
    $('drop').hidden = true;
    const file = e.dataTransfer.files[0];
    if (!file) return;
    const right = e.clientX > window.innerWidth / 2;  // the right half takes a style
    right ? useStyleFile(file) : usePhoto(file);
  });
}

// -- start --------------------------------------------------------------------------------

async function loadSite() {
  let response;
  try {
    response = await fetch('site.json');
  } catch (error) {
    throw {sentence: say.siteError(error.message)};
  }
  if (!response.ok) throw {sentence: say.siteError(`HTTP ${response.status}`)};
  try {
    return await response.json();
  } catch (error) {
    throw {sentence: say.siteError(error.message)};
  }
}

async function start() {
  wire();
  $('camera-size').value = '256';
  for (const [id, name] of [['camera-size', 'size'], ['photo-size', 'photo']]) {
    const value = params.get(name);
    if (value === null) continue;
    if (![...$(id).options].some((option) => option.value === value)) {
      $(id).add(new Option(`${value} px`, value));
    }
    $(id).value = value;
  }
  state.site = await loadSite();
  for (const style of state.site.styles) addStyle({...style, url: style.file});
  pickStyleQuietly(0);
  let ready;
  try {
    ready = await inference.call('init', {site: state.site, backend: params.get('backend') || 'auto',
                                          threads: Number(params.get('threads')) || 0});
  } catch (error) {
    throw {sentence: say.workerError(error)};
  }
  state.backend = ready.backend;
  state.threads = ready.threads;
  if (ready.notice === 'nowebgpu') showError(say.NO_WEBGPU);
  if (state.site.model.startsWith('compact')) document.title += ' (compact model)';
  readout();
  const photo = state.site.photo;
  const response = await fetch(photo.file);
  state.photo = await decode(await response.blob(), photo.title);
  state.photoName = photo.file.split('/').pop();
  await statsOf(state.first);
  await stylizePhoto();
}

function pickStyleQuietly(index) {
  state.first = index;
  state.styles[index].button.setAttribute('aria-selected', 'true');
}

async function bench(size, runs) {
  const {mean, std} = await statsOf(state.first);
  return (await inference.call('time', {size, runs, mean, std})).ms;
}

api.ready = start().catch((error) => {
  report(error);
  throw error;
});
