import { writeSync } from "node:fs";

/**
 * Writing text to stdout and stderr without Node's stream objects. The first touch of
 * `process.stdout` builds a Node Writable: measured in the compiled binary, ~17 ms — more than
 * half of a hello-world cold start — where a synchronous write to the descriptor costs ~0.05 ms.
 * Order is kept with console.log (which Bun also writes synchronously). A descriptor that would
 * block (a non-blocking pipe that is full) is waited on, as a blocking write would be; only a
 * reader stuck for 10 s makes the rest, and every later write, go to the stream, which queues.
 * A reader that has gone away (`prefectlite get flow-runs | head -1`: EPIPE, or ECONNRESET on
 * a socket pair) ends the writing quietly instead of with a stack trace.
 */

type Stream = "stdout" | "stderr";

const FD: Record<Stream, number> = { stdout: 1, stderr: 2 };
const viaStream: Record<Stream, boolean> = { stdout: false, stderr: false };
const closed: Record<Stream, boolean> = { stdout: false, stderr: false };

function write(stream: Stream, data: string | Uint8Array): void {
  if (closed[stream] || data.length === 0) return;
  if (viaStream[stream]) {
    process[stream].write(data);
    return;
  }
  let rest = typeof data === "string" ? Buffer.from(data) : data;
  let waited = 0;
  while (rest.length > 0) {
    try {
      rest = rest.subarray(writeSync(FD[stream], rest));
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      // EPIPE for a pipe, ECONNRESET for a socket pair (what Bun.spawn gives a child as stdout).
      if (code === "EPIPE" || code === "ECONNRESET") {
        closed[stream] = true;
        return;
      }
      if (code !== "EAGAIN") throw error;
      // A full non-blocking pipe: wait for the reader, as a blocking write would, so the order
      // with console.log (written straight to the descriptor too) is kept.
      if (waited < MAX_WAIT_MS) {
        Bun.sleepSync(1);
        waited++;
        continue;
      }
      viaStream[stream] = true;
      process[stream].write(rest);
      return;
    }
  }
}

/** How long a write waits, in all, for a reader that does not drain a full pipe, before queuing instead. */
const MAX_WAIT_MS = 10_000;

export const writeStdout = (data: string | Uint8Array): void => write("stdout", data);
export const writeStderr = (data: string | Uint8Array): void => write("stderr", data);
