/**
 * The built-in hello world (`prefectlite run -m prefectlite.hello_world`): a flow with one
 * parameter and two tasks, as Prefect's `prefect.hello_world`.
 */
import { Flow, Parameter, task } from "./index.ts";

export const capitalize = task({ name: "capitalize" }, (word: string) => word.charAt(0).toUpperCase() + word.slice(1));

export const sayHello = task({ name: "say_hello", logStdout: true }, (to: string) => {
  console.log(`Hello ${to}`);
});

export const flow = new Flow("hello-world", () => {
  const name = Parameter("name", { default: "world" });
  sayHello(capitalize(name));
});

export default flow;
