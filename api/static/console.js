// Progressive touches: the pages work without this file.
document.addEventListener("DOMContentLoaded", () => {
  // On the review board: a "select every preview shown" box beside "Approve selected".
  const bulk = document.getElementById("bulk");
  if (bulk) {
    const boxes = document.querySelectorAll('input[type=checkbox][form="bulk"]');
    if (boxes.length) {
      const label = document.createElement("label");
      label.className = "select";
      const all = document.createElement("input");
      all.type = "checkbox";
      all.addEventListener("change", () => boxes.forEach((b) => { b.checked = all.checked; }));
      label.append(all, " Select all awaiting");
      bulk.insertBefore(label, bulk.querySelector("button"));
    }
  }
  // Filters apply as soon as a choice changes.
  document.querySelectorAll("form.filters select").forEach((select) => {
    select.addEventListener("change", () => select.form.requestSubmit());
  });
});
