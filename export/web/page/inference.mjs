// The page's side of the inference worker: each call a promise, progress by callback.

export class Inference {
  constructor() {
    this.worker = new Worker(new URL('./worker.mjs', import.meta.url), {type: 'module'});
    this.pending = new Map();
    this.next = 1;
    this.worker.onmessage = ({data}) => this.receive(data);
    this.worker.onerror = (event) => this.fail({kind: 'runtime', text: event.message || 'worker.mjs'});
  }

  /** Post a job; resolves with its result, rejects with {kind, text}. */
  call(type, payload = {}, transfer = [], onProgress = null) {
    const id = this.next++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, {resolve, reject, onProgress});
      this.worker.postMessage({id, type, ...payload}, transfer);
    });
  }

  /** Stop the tiled job that runs now, between two of its tiles (it fails as cancelled). */
  cancel() {
    this.worker.postMessage({type: 'cancel'});
  }

  receive(message) {
    const job = this.pending.get(message.id);
    if (!job) return;
    if (message.progress) {
      if (job.onProgress) job.onProgress(...message.progress);
      return;
    }
    this.pending.delete(message.id);
    if (message.ok) job.resolve(message);
    else job.reject(message.error);
  }

  fail(error) {
    for (const job of this.pending.values()) job.reject(error);
    this.pending.clear();
  }
}
