//! The page around the sections, and the blocks they are made of: the document with its inline
//! style sheet, sections, tables and notes. maud escapes every value spliced into a template,
//! so text taken from the run (task names, error classes, the config) cannot become markup.

use maud::{DOCTYPE, Markup, PreEscaped, html};

/// The style sheet, inlined into the page's head: the file must open offline.
const STYLE: &str = include_str!("style.css");

/// A complete document: `title` in the head and the heading, `subtitle` under it, then `body`.
pub(super) fn document(title: &str, subtitle: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) }
                // A constant of this crate: trusted, and CSS must not be HTML-escaped.
                style { (PreEscaped(STYLE)) }
            }
            body {
                header {
                    h1 { (title) }
                    p.sub { (subtitle) }
                }
                main { (body) }
                footer {
                    "Written by spam-core " (env!("CARGO_PKG_VERSION"))
                    ". Self-contained: no scripts, no network; the same figures are in the \
                     report's JSON ("
                    code { "Report::to_json" }
                    ")."
                }
            }
        }
    }
}

/// A `<section>` with a heading and its content.
pub(super) fn section(id: &str, heading: &str, content: Markup) -> Markup {
    html! {
        section id=(id) {
            h2 { (heading) }
            (content)
        }
    }
}

/// A table with a header row; cells are plain text. Cells that read as numbers are
/// right-aligned.
pub(super) fn table<R, C>(head: &[&str], rows: R) -> Markup
where
    R: IntoIterator<Item = Vec<C>>,
    C: AsRef<str>,
{
    html! {
        table {
            thead {
                tr { @for cell in head { th { (cell) } } }
            }
            tbody {
                @for row in rows {
                    tr {
                        @for cell in row {
                            @let cell = cell.as_ref();
                            td class=[is_numeric(cell).then_some("n")] { (cell) }
                        }
                    }
                }
            }
        }
    }
}

/// A two-column table of names and values (plain text).
pub(super) fn pairs<N, V>(rows: impl IntoIterator<Item = (N, V)>) -> Markup
where
    N: AsRef<str>,
    V: AsRef<str>,
{
    html! {
        table.pairs {
            tbody {
                @for (name, value) in rows {
                    tr {
                        th { (name.as_ref()) }
                        td { (value.as_ref()) }
                    }
                }
            }
        }
    }
}

/// A paragraph of plain text.
pub(super) fn note(text: &str) -> Markup {
    html! { p.note { (text) } }
}

fn is_numeric(cell: &str) -> bool {
    let digits = cell.trim_start_matches(['-', '+']);
    digits.starts_with(|c: char| c.is_ascii_digit())
        && digits
            .chars()
            .all(|c| c.is_ascii_digit() || ".,%kMGT x/s".contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_in_every_block() {
        let table = table(&["<th>"], [vec!["<td>", "1 234"]]).into_string();
        assert!(table.contains("<th>&lt;th&gt;</th>"), "{table}");
        assert!(table.contains("<td>&lt;td&gt;</td>"), "{table}");
        assert!(table.contains("<td class=\"n\">1 234</td>"), "{table}");
        let pairs = pairs([("a&b", "<i>")]).into_string();
        assert!(
            pairs.contains("<th>a&amp;b</th><td>&lt;i&gt;</td>"),
            "{pairs}"
        );
        let section = section("x\"y", "<h>", note("\"q\"")).into_string();
        assert_eq!(
            section,
            "<section id=\"x&quot;y\"><h2>&lt;h&gt;</h2>\
             <p class=\"note\">&quot;q&quot;</p></section>"
        );
        let page = document("a<b", "c&d", html! {}).into_string();
        assert!(
            page.starts_with("<!DOCTYPE html><html lang=\"en\">"),
            "{page}"
        );
        assert!(page.contains("<title>a&lt;b</title>"), "{page}");
        assert!(page.contains("<p class=\"sub\">c&amp;d</p>"), "{page}");
        assert!(
            page.contains("<style>:root {"),
            "the CSS is not escaped: {page}"
        );
    }

    #[test]
    fn numeric_cells() {
        assert!(is_numeric("1 234") && is_numeric("25.00%") && is_numeric("-3"));
        assert!(!is_numeric("transfer_self") && !is_numeric("-") && !is_numeric("4 ms"));
    }
}
