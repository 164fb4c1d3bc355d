// The camera: started and stopped, its frames kept flowing through the worker, paused,
// recorded (WebM, or MP4 where the browser records only that).

import {cameraError, NO_CAMERA_API, NO_RECORDING} from './messages.mjs';
import {$, clearError, readout, report, setStatus, showError, state} from './page.mjs';
import {download, pixelsOf, show, stamp} from './pictures.mjs';
import {fitLonger} from './pixels.mjs';
import {stylize} from './run.mjs';
import {styleName} from './styles.mjs';

const DEPTH = 2;  // frames in the worker at once: one running, the next captured and waiting

/** Start the camera; a second start while the first waits (for permission, say) is one. */
export async function startCamera() {
  if (state.camera || state.starting) return;
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    showError(NO_CAMERA_API);
    return;
  }
  const attempt = state.starting = {};
  let stream = null;
  try {
    stream = await navigator.mediaDevices.getUserMedia(
      {video: {width: {ideal: 1280}, height: {ideal: 720}}, audio: false});
    $('camera').srcObject = stream;
    await $('camera').play();
  } catch (error) {
    if (stream) stopTracks(stream);
    if (state.starting === attempt) {
      state.starting = null;
      showError(cameraError(error));
    }
    return;
  }
  if (state.starting !== attempt) {  // cancelled while it waited (q, or a photo chosen)
    stopTracks(stream);
    return;
  }
  state.starting = null;
  clearError();
  $('camera').hidden = false;
  state.camera = stream;
  state.frameTimes = [];
  $('use-camera').classList.add('on');
  $('record').hidden = $('pause').hidden = false;
  pump();
}

/** Stop the camera (or cancel its start); true if it was on. */
export function stopCamera() {
  state.starting = null;
  if (!state.camera) return false;
  if (state.recorder) toggleRecording();
  stopTracks(state.camera);
  state.camera = null;
  state.paused = false;
  $('pause').classList.remove('on');
  $('camera').hidden = true;
  $('use-camera').classList.remove('on');
  $('record').hidden = $('pause').hidden = true;
  readout();
  return true;
}

function stopTracks(stream) {
  for (const track of stream.getTracks()) track.stop();
}

/** The current camera frame at the camera size (its longer side). */
function cameraFrame() {
  const video = $('camera');
  const size = Number($('camera-size').value);
  const [h, w] = fitLonger(video.videoHeight, video.videoWidth, size, state.site.min_side);
  return pixelsOf(video, h, w);
}

/** Keep DEPTH frames in the worker: while one runs the next is captured and waits, so the
 * model never idles and the page never waits for it. */
function pump() {
  while (state.camera && !state.paused && state.inFlight < DEPTH && $('camera').videoWidth) {
    state.inFlight++;
    Promise.resolve().then(() => stylize(cameraFrame(), null)).then(({output, ms}) => {
      if (!state.camera) return;
      show(output);
      setStatus(`camera ${output.width}×${output.height}${state.paused ? ', paused' : ''}`);
      state.ms = ms;
      state.frameTimes = [...state.frameTimes.slice(-29), performance.now()];
      readout();
    }).catch((error) => {
      stopCamera();
      report(error);
    }).finally(() => {
      state.inFlight--;
      pump();
    });
  }
}

export function togglePause() {
  if (!state.camera) return;
  state.paused = !state.paused;
  $('pause').classList.toggle('on', state.paused);
  setStatus(state.paused ? 'paused' : '');
  pump();
}

export function toggleRecording() {
  if (state.recorder) {
    state.recorder.stop();
    state.recorder = null;
    $('record').classList.remove('on');
    return;
  }
  if (!state.camera) return;
  if (state.paused) {
    setStatus('paused: resume (space) to record');
    return;
  }
  const type = ['video/webm', 'video/mp4'].find((t) => MediaRecorder.isTypeSupported(t));
  if (!type) {
    showError(NO_RECORDING);
    return;
  }
  const chunks = [];
  const recorder = new MediaRecorder($('output').captureStream(30), {mimeType: type});
  recorder.ondataavailable = (event) => chunks.push(event.data);
  recorder.onstop = () => download(new Blob(chunks, {type}),
                                   `camera_${stamp()}_stylized_${styleName()}.${type.slice(6)}`);
  recorder.start();
  state.recorder = recorder;
  $('record').classList.add('on');
}
