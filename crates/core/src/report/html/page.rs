//! The page around the sections: document head with the inline style sheet, HTML escaping,
//! tables and number formatting.

use std::fmt::Write as _;

/// The style sheet, inlined into the page's head: the file must open offline.
const STYLE: &str = include_str!("style.css");

/// A complete document: `title` in the head and the heading, then `body` (already HTML).
pub(super) fn document(title: &str, subtitle: &str, body: &str) -> String {
    let title = escape(title);
    let subtitle = escape(subtitle);
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title}</title>\n<style>\n{STYLE}</style>\n</head>\n<body>\n\
         <header><h1>{title}</h1><p class=\"sub\">{subtitle}</p></header>\n<main>\n{body}</main>\n\
         <footer>Written by spam-core {version}. Self-contained: no scripts, no network; \
         the same figures are in the report's JSON (<code>Report::to_json</code>).</footer>\n</body>\n</html>\n",
        version = env!("CARGO_PKG_VERSION"),
    )
}

/// A `<section>` with a heading and its content (already HTML).
pub(super) fn section(id: &str, heading: &str, content: &str) -> String {
    format!(
        "<section id=\"{}\">\n<h2>{}</h2>\n{content}</section>\n",
        escape(id),
        escape(heading)
    )
}

/// `text` safe inside HTML text and attribute values.
pub(super) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A table with a header row; cells are plain text (escaped here). Cells that read as numbers
/// are right-aligned.
pub(super) fn table<R, C>(head: &[&str], rows: R) -> String
where
    R: IntoIterator<Item = Vec<C>>,
    C: AsRef<str>,
{
    let mut out = String::from("<table>\n<thead><tr>");
    for cell in head {
        let _ = write!(out, "<th>{}</th>", escape(cell));
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for row in rows {
        out.push_str("<tr>");
        for cell in row {
            let cell = cell.as_ref();
            let class = if is_numeric(cell) { " class=\"n\"" } else { "" };
            let _ = write!(out, "<td{class}>{}</td>", escape(cell));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table>\n");
    out
}

/// A two-column table of names and values (plain text, escaped here).
pub(super) fn pairs<N, V>(rows: impl IntoIterator<Item = (N, V)>) -> String
where
    N: AsRef<str>,
    V: AsRef<str>,
{
    let mut out = String::from("<table class=\"pairs\">\n<tbody>\n");
    for (name, value) in rows {
        let _ = writeln!(
            out,
            "<tr><th>{}</th><td>{}</td></tr>",
            escape(name.as_ref()),
            escape(value.as_ref())
        );
    }
    out.push_str("</tbody>\n</table>\n");
    out
}

/// A paragraph of plain text.
pub(super) fn note(text: &str) -> String {
    format!("<p class=\"note\">{}</p>\n", escape(text))
}

fn is_numeric(cell: &str) -> bool {
    let digits = cell.trim_start_matches(['-', '+']);
    digits.starts_with(|c: char| c.is_ascii_digit())
        && digits
            .chars()
            .all(|c| c.is_ascii_digit() || ".,%kMGT x/s".contains(c))
}

/// A count with thousands separators: `12 345`.
pub(super) fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(' ');
        }
        out.push(c);
    }
    out
}

/// Milliseconds with 2 decimals below 100, else 1.
pub(super) fn ms(value: f64) -> String {
    if value < 100.0 {
        format!("{value:.2}")
    } else {
        format!("{value:.1}")
    }
}

/// A share in `0..=1` as a percentage.
pub(super) fn percent(share: f64) -> String {
    format!("{:.2}%", share * 100.0)
}

/// `part / whole` as a percentage; `-` when `whole` is 0.
pub(super) fn share(part: u64, whole: u64) -> String {
    if whole == 0 {
        "-".to_owned()
    } else {
        percent(part as f64 / whole as f64)
    }
}

/// A large value with an SI suffix: `1.05M`, `392.1k`.
pub(super) fn si(value: f64) -> String {
    let abs = value.abs();
    let (scaled, suffix) = if abs >= 1e12 {
        (value / 1e12, "T")
    } else if abs >= 1e9 {
        (value / 1e9, "G")
    } else if abs >= 1e6 {
        (value / 1e6, "M")
    } else if abs >= 1e3 {
        (value / 1e3, "k")
    } else {
        (value, "")
    };
    let text = format!("{scaled:.2}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    format!("{text}{suffix}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            escape(r#"<a href="x">&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;"
        );
        let table = table(&["<th>"], [vec!["<td>"]]);
        assert!(table.contains("<th>&lt;th&gt;</th>"), "{table}");
        assert!(table.contains("<td>&lt;td&gt;</td>"), "{table}");
        let pairs = pairs([("a&b", "<i>")]);
        assert!(
            pairs.contains("<th>a&amp;b</th><td>&lt;i&gt;</td>"),
            "{pairs}"
        );
    }

    #[test]
    fn numbers() {
        assert_eq!(count(0), "0");
        assert_eq!(count(1_234), "1 234");
        assert_eq!(count(12_345_678), "12 345 678");
        assert_eq!(si(4_200_000.0), "4.2M");
        assert_eq!(si(392_100.0), "392.1k");
        assert_eq!(si(12.0), "12");
        assert_eq!(si(0.5), "0.5");
        assert_eq!(ms(3.197), "3.20");
        assert_eq!(ms(486.911), "486.9");
        assert_eq!(share(1, 4), "25.00%");
        assert_eq!(share(1, 0), "-");
        assert!(is_numeric("1 234") && is_numeric("25.00%") && is_numeric("-3"));
        assert!(!is_numeric("transfer_self") && !is_numeric("-") && !is_numeric("4 ms"));
    }
}
