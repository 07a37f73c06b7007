// /learn: the table of contents needs no script beyond telling tests the page is ready.
document.body.dataset.ready = "true";
