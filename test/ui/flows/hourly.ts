import { Flow, IntervalClock, Parameter, Schedule, task } from "prefectlite";

/** A scheduled flow for the UI's tests: its schedule is switched on and off from the flow page. */
const greet = task({ name: "greet" }, (who: string) => `hello ${who}`);

export const flow = new Flow(
  "hourly",
  () => {
    greet(Parameter("who", { default: "everyone" }));
  },
  { schedule: new Schedule({ clocks: [new IntervalClock("1h")] }) },
);
