// Submits the response form (response_mode=form_post) without inline script.
document.addEventListener('DOMContentLoaded', function () { var f = document.forms[0]; if (f) f.submit(); });
