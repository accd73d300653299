import { Flow, task } from "prefectlite";

/** A flow that runs for a minute unless cancelled: the UI's browser test cancels it. */
const wait = task({ name: "wait" }, async () => {
  await Bun.sleep(60_000);
});

export const flow = new Flow("slow", () => {
  wait();
});
