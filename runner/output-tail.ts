import { Writable } from 'node:stream'
import type { CapturedOutput } from './types.js'

/**
 * Keeps the last `cap` bytes of a stream and counts the rest, so a test that prints gigabytes
 * costs at most `cap` bytes of memory and the report still says how much was left out.
 */
export class OutputTail {
  private chunks: Buffer[] = []
  private size = 0
  private dropped = 0

  constructor(private readonly cap: number) {}

  push(chunk: Buffer): void {
    if (this.cap <= 0) {
      this.dropped += chunk.length
      return
    }
    // Only the end of a chunk larger than the cap can survive; copy it so the rest is freed.
    const kept =
      chunk.length > this.cap ? Buffer.from(chunk.subarray(chunk.length - this.cap)) : chunk
    this.dropped += chunk.length - kept.length
    this.chunks.push(kept)
    this.size += kept.length
    while (this.size > this.cap) {
      const first = this.chunks[0]
      if (first === undefined) break
      const excess = this.size - this.cap
      if (first.length <= excess) {
        this.chunks.shift()
        this.size -= first.length
        this.dropped += first.length
      } else {
        this.chunks[0] = Buffer.from(first.subarray(excess))
        this.size -= excess
        this.dropped += excess
      }
    }
  }

  /** A writable that feeds this tail (for APIs that want a stream, like Docker's demuxer). */
  writable(): Writable {
    return new Writable({
      write: (chunk: Buffer, _encoding, done) => {
        this.push(chunk)
        done()
      },
    })
  }

  result(): CapturedOutput {
    // A cut may fall inside a multi-byte character; the decoder replaces that part with U+FFFD.
    return { text: Buffer.concat(this.chunks).toString('utf8'), droppedBytes: this.dropped }
  }
}
