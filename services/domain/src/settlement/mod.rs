//! Settlement (placeholder until the settlement engine lands).
