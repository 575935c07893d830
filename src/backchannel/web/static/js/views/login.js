// The login form (private mode): "Username", "Password", "Log in".

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function field(id, label, input) {
  const row = el("p", "field");
  const l = el("label", "", label);
  l.htmlFor = id;
  input.id = id;
  input.name = id;
  row.append(l, input);
  return row;
}

/** Renders the form into `root`; calls `onLoggedIn(user)` after a successful login. */
export function showLogin(root, api, onLoggedIn) {
  const main = el("main", "auth-page");
  const card = el("section", "auth-card");
  const title = el("h1", "", "Backchannel");
  const form = el("form", "auth-form");
  form.noValidate = true;
  const username = el("input");
  username.autocomplete = "username";
  username.required = true;
  username.autocapitalize = "none";
  username.spellcheck = false;
  const password = el("input");
  password.type = "password";
  password.autocomplete = "current-password";
  password.required = true;
  const error = el("p", "form-error");
  error.setAttribute("role", "alert");
  const submit = el("button", "primary", "Log in");
  submit.type = "submit";
  form.append(
    field("login-username", "Username", username),
    field("login-password", "Password", password),
    error,
    submit,
  );
  const setup = el("p", "auth-note");
  setup.hidden = true;
  card.append(title, form, setup);
  main.appendChild(card);
  root.replaceChildren(main);
  username.focus();

  api
    .get("/api/setup")
    .then((state) => {
      if (state && state.needed) {
        setup.hidden = false;
        setup.textContent =
          "No account exists yet. Open the one-time setup link printed on the server's console to create the first one.";
      }
    })
    .catch(() => {});

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    if (!username.value || !password.value) {
      error.textContent = "Enter your username and password.";
      (username.value ? password : username).focus();
      return;
    }
    submit.disabled = true;
    try {
      const answer = await api.post("/api/login", { username: username.value, password: password.value });
      onLoggedIn(answer.user);
    } catch (err) {
      if (err.code === "invalid_credentials") error.textContent = "Wrong username or password.";
      else error.textContent = err.message || "Logging in failed.";
      password.select();
      password.focus();
    } finally {
      submit.disabled = false;
    }
  });
}
