/** The hello world flow, as a user would write it: `npm start` registers it into project "default". */
import { Flow, Parameter, task } from "prefectlite";

const capitalize = task({ name: "capitalize" }, (word: string) => word.charAt(0).toUpperCase() + word.slice(1));

const sayHello = task({ name: "say_hello", logStdout: true }, (to: string) => {
  console.log(`Hello ${to}`);
});

export const flow = new Flow("hello-world", () => {
  const name = Parameter("name", { default: "world" });
  sayHello(capitalize(name));
});
