//! Error mapping of the LunaNode client (template: nothing here yet).
//!
//! `map_error`: LunaNode answers errors with HTTP 200 and `{"success": "no",
//! "error": "<text>"}`, so this module holds the response classifier (a 2xx can
//! be an error, decided before the retry decision) as well as the mapping of
//! the error text to volume-core errors, keeping the text as the provider wrote
//! it.
//!
//! Nothing is written here yet: a template must not pretend to work.
