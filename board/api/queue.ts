// One generation at a time, for engines the server cannot batch (anything but a ChatModel, whose
// requests go to core/infer/batcher.ts): requests wait their turn in arrival order.

export class GenerationQueue {
  #tail: Promise<void> = Promise.resolve();
  #waiting = 0;

  /** Requests holding or waiting for the slot. */
  get size(): number {
    return this.#waiting;
  }

  /**
   * Waits for the slot and returns its release. A request aborted while it waits gives its turn
   * back at once and throws the signal's reason.
   */
  async acquire(signal?: AbortSignal): Promise<() => void> {
    let free!: () => void;
    const mine = new Promise<void>((r) => free = r);
    const prev = this.#tail;
    this.#tail = prev.then(() => mine);
    this.#waiting++;
    let done = false;
    const release = () => {
      if (done) return;
      done = true;
      this.#waiting--;
      free();
    };
    await prev;
    if (signal?.aborted) {
      release();
      throw signal.reason;
    }
    return release;
  }
}
