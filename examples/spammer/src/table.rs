//! Terminal tables (comfy-table): a header and rows, columns two spaces apart, no borders and
//! no wrapping, the columns listed in `right` aligned right (numbers).

use comfy_table::{CellAlignment, Table, presets};

/// `header` over `rows`, one line each, ending with a line feed.
pub(crate) fn render(
    header: &[&str],
    rows: impl IntoIterator<Item = Vec<String>>,
    right: &[usize],
) -> String {
    let mut table = Table::new();
    table
        .load_preset(presets::NOTHING)
        .set_header(header.to_vec());
    for row in rows {
        table.add_row(row);
    }
    let last = header.len().saturating_sub(1);
    for (i, column) in table.column_iter_mut().enumerate() {
        column.set_padding((0, if i < last { 2 } else { 0 }));
        if right.contains(&i) {
            column.set_cell_alignment(CellAlignment::Right);
        }
    }
    let mut out = table.trim_fmt();
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_line_up_whatever_the_widths() {
        let text = render(
            &["id", "chain", "what"],
            [
                vec!["1".into(), "31337".into(), "a".into()],
                vec!["1234567890123".into(), "1".into(), "longer text".into()],
            ],
            &[1],
        );
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        assert_eq!(lines[0], "id             chain  what");
        assert_eq!(lines[1], "1              31337  a");
        assert_eq!(lines[2], "1234567890123      1  longer text");
    }
}
