/** Preloaded by bunfig.toml: after every test file has run, the temp folders the tests made go. */
import { afterAll } from "bun:test";
import { removeTempDirs } from "./helpers.ts";

afterAll(removeTempDirs);
