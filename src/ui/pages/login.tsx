/** @jsxImportSource hono/jsx */
import type { FC } from "hono/jsx";
import { ErrorBox, Layout } from "../layout.tsx";

/** `/login`: the API token, once; the server keeps it in an HttpOnly cookie. */
export const LoginPage: FC<{ next: string; error?: string }> = ({ next, error }) => (
  <Layout title="Sign in" section="login">
    <h1>Sign in</h1>
    <p>This server requires its API token (PREFECTLITE_API_TOKEN).</p>
    <form method="post" action="/login" class="card">
      <ErrorBox message={error} />
      <input type="hidden" name="next" value={next} />
      <label for="login-token">API token</label>
      <input type="password" id="login-token" name="token" autocomplete="current-password" required autofocus />
      <p>
        <button type="submit">Sign in</button>
      </p>
    </form>
  </Layout>
);
