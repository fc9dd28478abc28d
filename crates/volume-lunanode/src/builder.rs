//! The builder of the LunaNode client (template: nothing here yet).
//!
//! `LunaNodeBuilder`: the API id and API key (the key kept as a `Secret`, with
//! a hand-written `Debug` that prints it nowhere), an optional endpoint
//! override, and the shared `ClientOptions` (timeout, retry, backoff, user
//! agent, paused clock, a caller's reqwest client). `from_env()` reads
//! `LNDYNAMIC_API_ID` and `LNDYNAMIC_API_KEY`, as LunaNode's own tools read
//! them; `build()` checks them and makes a `LunaNode`.
//!
//! Nothing is written here yet: a template must not pretend to work.
