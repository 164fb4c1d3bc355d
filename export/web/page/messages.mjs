// Every error the page shows, as one sentence that says what is wrong and what to do.

/** An expected failure: its message is the sentence the page shows. */
export class PageError extends Error {}

/** The visitor cancelled a long job: said in the status line, not as an error. */
export class Cancelled extends PageError {}

/** The sentence for anything thrown: a PageError's own, a worker's failure ({kind, text})
 * told by its kind, else (a bug, whose stack goes to the console) a generic one. */
export function sentenceOf(error) {
  if (error instanceof PageError) return error.message;
  if (error && error.kind) return workerError(error);
  return `Something went wrong (${error && error.message || error}): reload the page; if it ` +
         `happens again, ${REBUILD}.`;
}

export const REBUILD = 'build the site again with `adain export --web`';

/** The sentence for a camera that getUserMedia refused (a DOMException's name). */
export function cameraError(error) {
  switch (error && error.name) {
    case 'NotFoundError':
    case 'OverconstrainedError':
      return 'No camera was found: connect one and press Camera again, or choose a photo.';
    case 'NotAllowedError':
    case 'SecurityError':
      return 'Camera permission was denied: allow the camera for this page in the browser\'s ' +
             'site settings and press Camera again, or choose a photo.';
    case 'NotReadableError':
    case 'AbortError':
      return 'The camera is in use by another program: close it and press Camera again.';
    default:
      return `The camera could not be started (${error && error.message || error}): press ` +
             'Camera again, or choose a photo.';
  }
}

export const NO_CAMERA_API = 'This page cannot reach a camera: browsers allow cameras only on ' +
  'https:// or http://localhost pages, so open it there (adain serve prints such a URL).';

/** The sentence for a failure the inference worker reported ({kind, text}). */
export function workerError(error, size) {
  switch (error.kind) {
    case 'missing':
      return `The model file ${error.text}: ${REBUILD}.`;
    case 'runtime':
      return `The onnxruntime-web files (${error.text}) could not be loaded: ${REBUILD}.`;
    case 'memory':
      return `The browser ran out of memory stylising ${size || 'this picture'}: choose a ` +
             'smaller photo size and try again.';
    case 'nograph':
      return `This site has no ${error.text} graph: ${REBUILD}.`;
    default:
      return `Stylising failed (${error.text}): reload the page; if it fails again, ${REBUILD}.`;
  }
}

export function siteError(status) {
  return `This folder has no readable site.json (${status}): ${REBUILD} -o FOLDER, then ` +
         'serve that folder.';
}

export function pictureError(name) {
  return `${name} could not be read as a picture (damaged, incomplete, or not an image): ` +
         'choose a JPEG, PNG or WebP file.';
}

export const NO_WEBGPU = 'WebGPU is not available in this browser: running on WebAssembly ' +
  'instead (slower).';

export const NO_THREADS = 'not cross-origin isolated: serve it with adain serve for threads';

export const NO_RECORDING = 'This browser cannot record the page (no WebM or MP4 ' +
  'MediaRecorder): save stills with s instead.';
