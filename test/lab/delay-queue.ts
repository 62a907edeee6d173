/**
 * The pure core of the lab's delay line (delay-line-process.ts): a FIFO of frames, each released
 * `delayMs` after it was taken in. A constant delay keeps the order, so the head is always the next
 * frame due and one timer for the head suffices. Bounded in frames and bytes: a frame beyond either
 * bound is dropped and counted (as a full router queue would), never queued. Time comes in as an
 * argument (ms, any monotonic clock), so the queue is a plain value machine.
 */

export interface DelayQueueLimits {
  /** Delay of every frame, ms (>= 0). */
  readonly delayMs: number;
  /** Most frames held at once (>= 1). */
  readonly maxFrames: number;
  /** Most bytes held at once (>= 1). */
  readonly maxBytes: number;
}

export interface DelayQueueStats {
  /** Frames taken in (queued). */
  readonly accepted: number;
  /** Frames handed out by due(). */
  readonly released: number;
  /** Frames refused because a bound was reached, and their bytes. */
  readonly dropped: number;
  readonly droppedBytes: number;
  /** Frames and bytes held now, and the most frames ever held at once. */
  readonly queued: number;
  readonly queuedBytes: number;
  readonly maxQueued: number;
}

export class DelayQueue {
  readonly #limits: DelayQueueLimits;
  /** Ring of at most maxFrames entries: frame and the time it is due. */
  readonly #frames: Array<Uint8Array | undefined>;
  readonly #dueAt: Float64Array;
  #head = 0;
  #count = 0;
  #bytes = 0;
  #accepted = 0;
  #released = 0;
  #dropped = 0;
  #droppedBytes = 0;
  #maxQueued = 0;

  constructor(limits: DelayQueueLimits) {
    if (!(limits.delayMs >= 0) || !Number.isFinite(limits.delayMs)) throw new RangeError(`delay must be a finite number >= 0: ${limits.delayMs}`);
    if (!Number.isInteger(limits.maxFrames) || limits.maxFrames < 1) throw new RangeError(`maxFrames must be an integer >= 1: ${limits.maxFrames}`);
    if (!Number.isInteger(limits.maxBytes) || limits.maxBytes < 1) throw new RangeError(`maxBytes must be an integer >= 1: ${limits.maxBytes}`);
    this.#limits = limits;
    this.#frames = new Array<Uint8Array | undefined>(limits.maxFrames).fill(undefined);
    this.#dueAt = new Float64Array(limits.maxFrames);
  }

  /**
   * Takes a frame in at time `now` (not before the previous frame's time: the clock is monotonic).
   * Returns false (and counts a drop) when it would exceed maxFrames or maxBytes.
   */
  push(frame: Uint8Array, now: number): boolean {
    if (this.#count >= this.#limits.maxFrames || this.#bytes + frame.byteLength > this.#limits.maxBytes) {
      this.#dropped++;
      this.#droppedBytes += frame.byteLength;
      return false;
    }
    const tail = (this.#head + this.#count) % this.#limits.maxFrames;
    // A clock that went back cannot reorder the FIFO: a frame is never due before the one ahead of it.
    const prev = this.#count > 0 ? this.#dueAt[(tail + this.#limits.maxFrames - 1) % this.#limits.maxFrames]! : -Infinity;
    this.#frames[tail] = frame;
    this.#dueAt[tail] = Math.max(now + this.#limits.delayMs, prev);
    this.#count++;
    this.#bytes += frame.byteLength;
    this.#accepted++;
    if (this.#count > this.#maxQueued) this.#maxQueued = this.#count;
    return true;
  }

  /** Removes and returns, in order, every frame due at `now` (due time <= now). */
  due(now: number): Uint8Array[] {
    const out: Uint8Array[] = [];
    while (this.#count > 0 && this.#dueAt[this.#head]! <= now) {
      const f = this.#frames[this.#head]!;
      this.#frames[this.#head] = undefined;
      this.#head = (this.#head + 1) % this.#limits.maxFrames;
      this.#count--;
      this.#bytes -= f.byteLength;
      this.#released++;
      out.push(f);
    }
    return out;
  }

  /** When the head frame is due, or undefined when the queue is empty. */
  nextDueAt(): number | undefined {
    return this.#count > 0 ? this.#dueAt[this.#head] : undefined;
  }

  stats(): DelayQueueStats {
    return {
      accepted: this.#accepted,
      released: this.#released,
      dropped: this.#dropped,
      droppedBytes: this.#droppedBytes,
      queued: this.#count,
      queuedBytes: this.#bytes,
      maxQueued: this.#maxQueued,
    };
  }
}
