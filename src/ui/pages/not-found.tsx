/** @jsxImportSource hono/jsx */
import type { FC } from "hono/jsx";
import { Layout } from "../layout.tsx";

export const NotFoundPage: FC<{ what: string; signedIn: boolean }> = ({ what, signedIn }) => (
  <Layout title="Not found" section="none" signedIn={signedIn}>
    <h1>Not found</h1>
    <p>{what}</p>
    <p>
      <a href="/">Back to the flows</a>
    </p>
  </Layout>
);
