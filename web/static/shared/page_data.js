// The data a template hands its script in a <body data-*> attribute.

/** The JSON in <body data-NAME>, or {} when it is absent or unreadable. */
export function bodyJson(name) {
  try {
    return JSON.parse(document.body.dataset[name] || '{}');
  } catch {
    return {};
  }
}
