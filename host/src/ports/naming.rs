//! Guests' interface names from `naming_template`: `{vmid}`, `{container}`,
//! `{index}` (the number the raw name ends with: `veth-123-eth0` -> 0) and
//! `{raw}`, fitted to the kernel's rule (at most 15 bytes of letters,
//! digits, `_`, `.`, `-`), with a deterministic short-hash fallback when
//! the name is taken.

use crate::util::hash::sha256_hex;

/// The kernel's longest interface name.
const IFNAMSIZ: usize = 15;

/// `template` with its placeholders filled in; an unknown one is an error
/// naming it.
pub fn render(template: &str, raw: &str, container: &str, vmid: u32) -> Result<String, String> {
    let index = raw.trim_end_matches(|c: char| !c.is_ascii_digit()).len();
    let digits: String =
        raw[..index].chars().rev().take_while(char::is_ascii_digit).collect::<Vec<_>>().into_iter().rev().collect();
    let index = if digits.is_empty() { "0".to_string() } else { digits };
    let mut out = String::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let close = rest[open..].find('}').ok_or_else(|| format!("naming_template: {template:?}: an unclosed `{{`"))?;
        let value = match &rest[open + 1..open + close] {
            "vmid" => vmid.to_string(),
            "container" => container.to_string(),
            "index" => index.clone(),
            "raw" => raw.to_string(),
            other => {
                return Err(format!(
                    "naming_template: {template:?}: unknown placeholder {{{other}}} (known: {{vmid}}, {{container}}, {{index}}, {{raw}})"
                ));
            }
        };
        out.push_str(&value);
        rest = &rest[open + close + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// `name` as the kernel takes it: other characters become `-`, a leading
/// `-` or `.` goes, at most 15 bytes.
pub fn sanitize(name: &str) -> String {
    let mapped: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '-' { c } else { '-' })
        .collect();
    let trimmed = mapped.trim_start_matches(['-', '.']);
    trimmed.chars().take(IFNAMSIZ).collect()
}

/// The name for `raw`'s link: `wanted` sanitized, or, when that is empty
/// or another link's (`taken`), its first bytes and a short hash of
/// `wanted` and `raw` (the same inputs give the same name).
pub fn fit(wanted: &str, raw: &str, taken: impl Fn(&str) -> bool) -> String {
    let name = sanitize(wanted);
    if !name.is_empty() && (name == raw || !taken(&name)) {
        return name;
    }
    for salt in 0u32.. {
        let hash = sha256_hex(format!("{wanted}\0{raw}\0{salt}").as_bytes());
        let stem: String = name.chars().take(IFNAMSIZ - 5).collect();
        let stem = if stem.is_empty() { "pa".to_string() } else { stem };
        let candidate = format!("{stem}-{}", &hash[..4]);
        if !taken(&candidate) {
            return candidate;
        }
    }
    unreachable!("some salt gives a free name")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_fill_in_and_refuse_unknown_placeholders() {
        assert_eq!(render("vi{vmid}", "veth-123-eth0", "container-123", 100).unwrap(), "vi100");
        assert_eq!(render("veth-{container}-eth{index}", "tap9i2", "ct", 9).unwrap(), "veth-ct-eth2");
        assert_eq!(render("{raw}", "veth1", "c", 1).unwrap(), "veth1");
        assert_eq!(render("x{index}", "nodigits", "c", 1).unwrap(), "x0");
        assert!(render("vi{vm}", "r", "c", 1).unwrap_err().contains("{vm}"));
        assert!(render("vi{vmid", "r", "c", 1).unwrap_err().contains("unclosed"));
    }

    #[test]
    fn names_fit_the_kernel_and_collisions_get_a_stable_hash() {
        assert_eq!(sanitize("veth-container-123-eth0"), "veth-container-");
        assert_eq!(sanitize("-a b/c"), "a-b-c");
        assert_eq!(fit("vi100", "veth1", |_| false), "vi100");
        assert_eq!(fit("vi100", "vi100", |_| true), "vi100", "its own name is not a collision");
        let a = fit("vi100", "veth1", |n| n == "vi100");
        assert!(a.starts_with("vi100-") && a.len() == 10, "{a}");
        assert_eq!(a, fit("vi100", "veth1", |n| n == "vi100"), "deterministic");
        let long = fit("veth-container-", "r", |n| n == "veth-container-");
        assert!(long.len() == 15 && long.starts_with("veth-conta-"), "{long}");
        let b = fit("vi100", "veth1", |n| n == "vi100" || n == a);
        assert!(b != a && b.starts_with("vi100-"), "{b}");
    }
}
