//! Server-rendered pages for journalists and the public.
//!
//! Pages are HTML rendered with maud (checked at compile time, no template files) from the
//! query layer's precomputed projections. They work without JavaScript: filters and the "as of"
//! control are plain GET forms, charts are inline SVG with text alternatives, and the small
//! stylesheet and script are compiled into the binary (no CDN).

pub mod assets;
pub mod chart;
pub mod diff;
pub mod format;
pub mod layout;
pub mod periods;
pub mod tone;

use crate::AppState;
use axum::Router;
use axum::routing::get;

/// The pages' routes.
pub fn routes() -> Router<AppState> {
    Router::new().route("/assets/{name}", get(assets::serve))
}
