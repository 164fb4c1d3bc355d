// What every part of the page shares: its elements, its URL parameters, its state, the
// inference worker, and the places it speaks (the error line, the status, the readout).
//
// URL parameters (for links, tests and benchmarks): backend=auto|wasm|webgpu, threads=N,
// size=N (camera, longer side), photo=N (photo, shorter side; 0 full size), style=N (styles'
// shorter side, default 512), tile=N (tiles of N px for every photo).

import {Inference} from './inference.mjs';
import {Cancelled, NO_THREADS, PageError, sentenceOf} from './messages.mjs';

export const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);

/** URL parameter `name` as a whole number of at least `least`, else null (absent or not). */
export function intParam(name, least = 0) {
  const value = Number(params.get(name) ?? NaN);
  return Number.isInteger(value) && value >= least ? value : null;
}

export function textParam(name) {
  return params.get(name);
}
export const inference = new Inference();
export const state = {
  site: null, backend: '', threads: 0,
  styles: [], first: 0, second: null, blend: 0.5, alpha: 1, colours: false,
  photo: null, photoName: '', busy: false, dirty: false, ms: 0,
  camera: null, starting: null, paused: false, inFlight: 0, frameTimes: [], recorder: null,
};
// For tests, benchmarks and the console: the state, the last stylisation (input, output,
// statistics) and every error sentence shown.
export const api = window.adain = {state, done: 0, last: null, errors: [], notices: []};

export function showError(sentence) {
  api.errors.push(sentence);
  $('error').textContent = sentence;
  $('error').hidden = false;
}

export function clearError() {
  $('error').hidden = true;
}

/** Show what went wrong in one sentence; a bug's stack goes to the console as well. */
export function report(error) {
  if (error instanceof Cancelled) {
    setStatus(error.message);
    return;
  }
  if (!(error instanceof PageError)) console.error(error);
  showError(sentenceOf(error));
}

/** A lasting notice (not an error the next picture clears): no WebGPU, no threads. */
export function showNotice(sentence) {
  api.notices.push(sentence);
  $('notice').textContent = sentence;
  $('notice').hidden = false;
}

export function setStatus(text) {
  $('status').textContent = text;
}

/** The backend, its threads and the speed: frames per second with the camera, else the
 * last picture's time. */
export function readout() {
  const where = state.backend === 'webgpu' ? 'WebGPU'
    : `WASM, ${state.threads} thread${state.threads === 1 ? '' : 's'}`;
  const isolated = state.backend === 'wasm' && !crossOriginIsolated ? ` (${NO_THREADS})` : '';
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
