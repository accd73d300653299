import { writeSync } from "node:fs";

/**
 * Writing text to stdout and stderr without Node's stream objects. The first touch of
 * `process.stdout` builds a Node Writable: measured in the compiled binary, ~17 ms — more than
 * half of a hello-world cold start — where a synchronous write to the descriptor costs ~0.05 ms.
 * Order is kept with console.log (which Bun also writes synchronously). A descriptor that would
 * block (a non-blocking pipe that is full) hands the rest, and every later write, to the stream,
 * which queues; a reader that has gone away (EPIPE: `prefectlite get flow-runs | head -1`) ends
 * the writing quietly instead of with a stack trace.
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
  try {
    while (rest.length > 0) {
      const written = writeSync(FD[stream], rest);
      rest = rest.subarray(written);
    }
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "EPIPE") {
      closed[stream] = true;
      return;
    }
    if (code !== "EAGAIN") throw error;
    viaStream[stream] = true;
    process[stream].write(rest);
  }
}

export const writeStdout = (data: string | Uint8Array): void => write("stdout", data);
export const writeStderr = (data: string | Uint8Array): void => write("stderr", data);
