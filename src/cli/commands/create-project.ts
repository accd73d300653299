import { connect } from "../../runtime/connect.ts";
import { EXIT } from "../exit.ts";
import { writeStdout } from "../../stdio.ts";

export async function createProject(options: { name: string; description?: string; apiUrl?: string; json: boolean }): Promise<number> {
  const client = connect({ apiUrl: options.apiUrl });
  try {
    const { id, created } = await client.createProject(options.name, options.description);
    if (options.json) writeStdout(`${JSON.stringify({ id, name: options.name, created })}\n`);
    else writeStdout(created ? `Project '${options.name}' created\n` : `Project '${options.name}' already exists\n`);
    return EXIT.ok;
  } finally {
    await client.close();
  }
}
