/**
 * Passing results between flows (the 0.15 release's example): `child` makes a list; `parent`
 * creates a run of `child`, waits for it and reads its task's result, then works on it.
 *
 *   prefectlite register -p flows/parent_child.ts --project example
 *   prefectlite run --name parent --execute
 */
import { createFlowRun, Flow, getTaskRunResult, LocalResult, Parameter, task } from "prefectlite";

const createSomeData = task({ name: "create_some_data", result: new LocalResult() }, (length: number) =>
  Array.from({ length }, (_, i) => i),
);

export const child = new Flow("child", () => {
  createSomeData(Parameter("data_size", { default: 5 }));
});

const transformAndShow = task({ name: "transform_and_show", logStdout: true }, (data: number[]) => {
  console.log(`Got: [${data.join(", ")}]`);
  const newData = data.map((x) => x + 1);
  console.log(`Created: [${newData.join(", ")}]`);
  return newData;
});

export const parent = new Flow("parent", () => {
  const childRunId = createFlowRun({ flowName: "child", parameters: { data_size: 10 } });
  const childData = getTaskRunResult<number[]>(childRunId, "create_some_data-1");
  transformAndShow(childData);
});
