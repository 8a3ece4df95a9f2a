//! The smallest Typst world the report needs: the standard library with the page URL as an
//! input, the fonts embedded in typst-assets, one main source (the template), one virtual data
//! file (the report's JSON) and a fixed date. Nothing is read from the file system, the network
//! or the clock, so a report lays out the same way on every machine.

use std::sync::LazyLock;

use typst::diag::{FileError, FileResult};
use typst::foundations::{Bytes, Datetime, Dict, IntoValue};
use typst::syntax::{FileId, Source, VirtualPath};
use typst::text::{Font, FontBook};
use typst::utils::LazyHash;
use typst::{Library, LibraryExt, World};

/// Where the template finds the report's JSON: `json("/report.json")`.
pub(crate) const REPORT_PATH: &str = "/report.json";
/// The template's own path, named in error locations.
pub(crate) const TEMPLATE_PATH: &str = "/report.typ";

/// The embedded fonts, parsed once per process: Libertinus Serif for text, DejaVu Sans Mono
/// for hashes and identifiers, New Computer Modern as Typst's fallback.
struct EmbeddedFonts {
    book: LazyHash<FontBook>,
    fonts: Vec<Font>,
}

static FONTS: LazyLock<EmbeddedFonts> = LazyLock::new(|| {
    let fonts: Vec<Font> = typst_assets::fonts()
        .flat_map(|data| Font::iter(Bytes::new(data)))
        .collect();
    let book = FontBook::from_fonts(&fonts);
    EmbeddedFonts {
        book: LazyHash::new(book),
        fonts,
    }
});

pub(crate) struct ReportWorld {
    library: LazyHash<Library>,
    main: Source,
    report_id: FileId,
    report: Bytes,
    today: Option<Datetime>,
}

impl ReportWorld {
    /// A world whose main source is `template`, serving `report_json` at [`REPORT_PATH`] and
    /// `page_url` as `sys.inputs.page_url`. `today` is what `datetime.today()` answers.
    pub(crate) fn new(
        template: &str,
        report_json: Vec<u8>,
        page_url: &str,
        today: Option<Datetime>,
    ) -> Self {
        let mut inputs = Dict::new();
        inputs.insert("page_url".into(), page_url.into_value());
        let library = Library::builder().with_inputs(inputs).build();
        let main_id = FileId::new(None, VirtualPath::new(TEMPLATE_PATH));
        ReportWorld {
            library: LazyHash::new(library),
            main: Source::new(main_id, template.to_owned()),
            report_id: FileId::new(None, VirtualPath::new(REPORT_PATH)),
            report: Bytes::new(report_json),
            today,
        }
    }

    pub(crate) fn main_source(&self) -> &Source {
        &self.main
    }
}

impl World for ReportWorld {
    fn library(&self) -> &LazyHash<Library> {
        &self.library
    }

    fn book(&self) -> &LazyHash<FontBook> {
        &FONTS.book
    }

    fn main(&self) -> FileId {
        self.main.id()
    }

    fn source(&self, id: FileId) -> FileResult<Source> {
        if id == self.main.id() {
            Ok(self.main.clone())
        } else {
            Err(not_found(id))
        }
    }

    fn file(&self, id: FileId) -> FileResult<Bytes> {
        if id == self.report_id {
            Ok(self.report.clone())
        } else if id == self.main.id() {
            Ok(Bytes::from_string(self.main.text().to_owned()))
        } else {
            Err(not_found(id))
        }
    }

    fn font(&self, index: usize) -> Option<Font> {
        FONTS.fonts.get(index).cloned()
    }

    fn today(&self, _offset: Option<i64>) -> Option<Datetime> {
        self.today
    }
}

fn not_found(id: FileId) -> FileError {
    FileError::NotFound(id.vpath().as_rootless_path().into())
}
