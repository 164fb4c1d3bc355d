// The page's start and its controls: the bundled photo or the visitor's (chosen or
// dropped), the camera, styles, strength, blend, colours, sizes, keys and the full-size
// save. Each concept lives in its own module; inference runs in worker.mjs.

import {startCamera, stopCamera, toggleRecording, togglePause} from './camera.mjs';
import * as say from './messages.mjs';
import {$, api, clearError, inference, intParam, readout, report, setStatus, showNotice,
        state, textParam} from './page.mjs';
import {baseName, decode, download, pixelsOf, pngOf, show, stamp} from './pictures.mjs';
import {fitShorter} from './pixels.mjs';
import {plan, showProgress, stylize} from './run.mjs';
import {addStyle, findStyle, selectStyle, statsOf, styleName} from './styles.mjs';

// -- the photo ----------------------------------------------------------------------------

/** Stylise the photo at the chosen size; asked again while busy, it runs once more after. */
async function stylizePhoto() {
  if (!state.photo || state.camera) return;
  if (state.busy) {
    state.dirty = true;
    return;
  }
  state.busy = true;
  try {
    do {  // the camera, once on, takes the picture over
      state.dirty = false;
      const [h, w] = fitShorter(state.photo.height, state.photo.width, Number($('photo-size').value));
      const how = plan(h, w);
      setStatus(`stylising ${how.width}×${how.height}${how.note ? `, ${how.note}` : ''}…`);
      const {output, ms} = await stylize(pixelsOf(state.photo, how.height, how.width));
      if (state.camera) break;
      show(output);
      state.ms = ms;
      setStatus(`${how.width}×${how.height}${how.note ? `, ${how.note}` : ''}`);
      clearError();
    } while (state.dirty && !state.camera);
  } catch (error) {
    report(error);
  } finally {
    state.busy = false;
    readout();
  }
}

function restyle() {
  if (!state.camera) stylizePhoto();  // with the camera on, the next frame takes the settings
}

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

/** The photo, or the camera's frame, stylised at its full size and downloaded as a PNG. */
async function saveFullSize() {
  if (!state.camera && !state.photo) return;
  const video = $('camera');
  const source = state.camera ? video : state.photo;
  const how = plan(state.camera ? video.videoHeight : state.photo.height,
                   state.camera ? video.videoWidth : state.photo.width);
  const base = state.camera ? `camera_${stamp()}` : baseName(state.photoName);
  const name = `${base}_stylized_${styleName()}.png`;  // the settings of now, not of the end
  setStatus(`saving ${how.width}×${how.height}${how.note ? `, ${how.note}` : ''}…`);
  $('snapshot').disabled = true;  // one save at a time
  try {
    const {output} = await stylize(pixelsOf(source, how.height, how.width));
    download(await pngOf(output), name);
    api.saved = {name, width: output.width, height: output.height};
    setStatus(`saved ${name} (${output.width}×${output.height})`);
  } catch (error) {
    report(error);
  } finally {
    $('snapshot').disabled = false;
  }
}

// -- styles and settings ------------------------------------------------------------------

function pickStyle(index, second) {
  if (second && index === state.first) {
    setStatus('that is the first style: shift-click another one to blend it in');
    return;
  }
  selectStyle(index, second);
  restyle();
}

async function useStyleFile(file) {
  try {
    const known = findStyle(file);  // the same file again: its thumbnail, not a second one
    if (known >= 0) {
      pickStyle(known, false);
      return;
    }
    await decode(file, file.name);  // a file that is no picture is refused here, in words
    const index = addStyle({name: baseName(file.name), title: file.name, author: '',
                            url: URL.createObjectURL(file), file: file.name, bytes: file.size},
                           pickStyle);
    pickStyle(index, false);
  } catch (error) {
    report(error);
  }
}

function setAlpha(value) {
  state.alpha = Math.round(Math.min(1, Math.max(0, value)) * 100) / 100;
  $('alpha').value = state.alpha;
  $('alpha-value').textContent = state.alpha.toFixed(2);
  restyle();
}

function setBlend(value) {
  state.blend = value;
  $('blend-value').textContent = value.toFixed(2);
  restyle();
}

function setColours(on) {
  state.colours = on;
  $('colours').checked = on;
  restyle();
}

/** The keys of adain webcam (with no Ctrl, Alt or Cmd: those are the browser's). */
function onKey(event) {
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  const typing = 'input:not([type=range]):not([type=checkbox]), select, textarea';
  if (event.target.matches(typing) && event.key !== 'Escape') return;
  const n = state.styles.length;
  switch (event.key) {
    case 'q': case 'Escape': if (stopCamera()) stylizePhoto(); break;
    case ' ': event.preventDefault(); togglePause(); break;
    case 'n': pickStyle((state.first + 1) % n, false); break;
    case 'p': pickStyle((state.first + n - 1) % n, false); break;
    case '+': case '=': setAlpha(state.alpha + 0.1); break;
    case '-': setAlpha(state.alpha - 0.1); break;
    case 'c': setColours(!state.colours); break;
    case 's': saveFullSize(); break;
    case 'r': toggleRecording(); break;
    default:
  }
}

function onDrop(event) {
  event.preventDefault();
  $('drop').hidden = true;
  const file = event.dataTransfer.files[0];
  if (!file) return;
  if (event.clientX > window.innerWidth / 2) useStyleFile(file);  // the right half: a style
  else usePhoto(file);
}

function wire() {
  $('use-camera').addEventListener('click', () => {
    if (!stopCamera()) startCamera();
    else stylizePhoto();
  });
  $('photo-file').addEventListener('change', (e) => e.target.files[0] && usePhoto(e.target.files[0]));
  $('style-file').addEventListener('change', (e) => e.target.files[0] && useStyleFile(e.target.files[0]));
  $('snapshot').addEventListener('click', saveFullSize);
  $('cancel').addEventListener('click', () => inference.cancel());
  $('record').addEventListener('click', toggleRecording);
  $('pause').addEventListener('click', togglePause);
  $('alpha').addEventListener('input', (e) => setAlpha(Number(e.target.value)));
  $('blend').addEventListener('input', (e) => setBlend(Number(e.target.value)));
  $('unblend').addEventListener('click', selectOne);
  $('colours').addEventListener('change', (e) => setColours(e.target.checked));
  $('photo-size').addEventListener('change', restyle);
  document.addEventListener('keydown', onKey);
  document.body.addEventListener('dragover', (e) => { e.preventDefault(); $('drop').hidden = false; });
  document.body.addEventListener('dragleave', (e) => { if (!e.relatedTarget) $('drop').hidden = true; });
  document.body.addEventListener('drop', onDrop);
}

function selectOne() {
  state.second = null;
  selectStyle(state.first, false);
  restyle();
}

/** The size selects take the URL's sizes (size=, photo=), adding an entry if need be. */
function sizesFromUrl() {
  for (const [id, name, least] of [['camera-size', 'size', 16], ['photo-size', 'photo', 0]]) {
    const value = String(intParam(name, least) ?? '');
    if (!value) continue;
    if (![...$(id).options].some((option) => option.value === value)) {
      $(id).add(new Option(`${value} px`, value));
    }
    $(id).value = value;
  }
}

// -- start --------------------------------------------------------------------------------

async function loadSite() {
  let response;
  try {
    response = await fetch('site.json');
  } catch (error) {
    throw new say.PageError(say.siteError(error.message));
  }
  if (!response.ok) throw new say.PageError(say.siteError(`HTTP ${response.status}`));
  try {
    return await response.json();
  } catch (error) {
    throw new say.PageError(say.siteError(error.message));
  }
}

/** The sample photo, shown as it is while the model loads. */
async function loadSample() {
  const photo = state.site.photo;
  const response = await fetch(photo.file);
  if (!response.ok) {
    throw new say.PageError(`The sample photo ${photo.file} is missing (HTTP ${response.status}): ` +
                            `${say.REBUILD}.`);
  }
  state.photo = await decode(await response.blob(), photo.title);
  state.photoName = photo.file.split('/').pop();
  const [h, w] = fitShorter(state.photo.height, state.photo.width, Number($('photo-size').value));
  show(pixelsOf(state.photo, h, w));
}

/** Load the graphs in the worker, the download shown in MB. */
async function loadModel() {
  const onBytes = (done, total) => {
    showProgress(done, total);
    $('progress-note').textContent = `loading the model: ${(done / 1e6).toFixed(0)} of ` +
                                     `${(total / 1e6).toFixed(0)} MB`;
    $('cancel').hidden = true;
  };
  try {
    return await inference.call('init', {site: state.site, backend: textParam('backend') || 'auto',
                                         threads: intParam('threads', 1) || 0}, [], onBytes);
  } catch (error) {
    $('readout').textContent = 'The model did not load.';
    setStatus('');
    throw new say.PageError(say.workerError(error));
  } finally {
    $('progress').hidden = $('progress-note').hidden = true;
  }
}

async function start() {
  wire();
  $('camera-size').value = '256';
  sizesFromUrl();
  state.site = await loadSite();
  for (const style of state.site.styles) addStyle({...style, url: style.file}, pickStyle);
  selectStyle(0, false);
  await loadSample();
  setStatus('loading the model…');
  const ready = await loadModel();
  state.backend = ready.backend;
  state.threads = ready.threads;
  if (ready.notice === 'nowebgpu') showNotice(say.NO_WEBGPU);
  readout();
  setStatus('encoding the style…');
  await statsOf(state.first);
  await stylizePhoto();
}

api.styleStats = statsOf;
/** ms per frame of the stylizer at size x size, `runs` times after a warm-up (bench/). */
api.bench = async (size, runs) => {
  const {mean, std} = await statsOf(state.first);
  return (await inference.call('time', {size, runs, mean, std})).ms;
};
api.ready = start().catch(report);
