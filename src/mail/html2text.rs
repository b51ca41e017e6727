//! The plain-text alternative of an HTML mail, ported from PocketBase's `tools/mailer/html2text.go`.
//!
//! PocketBase walks the parsed HTML tree; its rules only ever look at an element when it
//! opens, so walking the token stream in document order gives the same text:
//!
//! - runs of ASCII whitespace in text become one space; leading spaces are dropped right after
//!   a line break (indentation), trailing ones are kept;
//! - a non-inline element opening after some text starts a new line (so consecutive blocks do
//!   not stack blank lines); `<br>` always does;
//! - `<li>` is prefixed with `- `;
//! - a link becomes `[label](href)` (`[label]` without an href, `LINK` for an empty label);
//! - the contents of `style`, `script`, form controls, media and the like are dropped;
//! - lines end in `\r\n` and the result is trimmed.

use super::html_tokens::{Tag, Token, tokens};

/// Elements whose whole content is left out of the text.
const SKIPPED: &[&str] = &[
    "style", "script", "iframe", "applet", "object", "svg", "img", "button", "form", "textarea",
    "input", "select", "option", "template",
];

/// Elements that do not start a new line.
const INLINE: &[&str] = &[
    "a", "span", "small", "strike", "strong", "sub", "sup", "em", "b", "u", "i",
];

/// Whether a skipped element can contain itself; the others (`option`, `button`, ...) are
/// closed by the parser rather than nested, so counting them would skip too much.
fn nests(name: &str) -> bool {
    matches!(name, "svg" | "object" | "applet" | "template")
}

/// Converts an HTML mail body to its plain-text alternative (see the module docs for the rules).
pub fn html_to_text(html: &str) -> String {
    let mut walk = Walk::default();
    let mut skipping: Option<(String, usize)> = None;
    for token in tokens(html) {
        if let Some((name, depth)) = &mut skipping {
            match &token {
                Token::Start(tag) if tag.name == *name && nests(name) && !tag.is_empty() => {
                    *depth += 1;
                }
                Token::End(end) if end == name => *depth -= 1,
                _ => {}
            }
            if *depth == 0 {
                skipping = None;
            }
            continue;
        }
        match token {
            Token::Text(text) => walk.text(&text),
            Token::Start(tag) if SKIPPED.contains(&tag.name.as_str()) => {
                if !tag.is_empty() {
                    skipping = Some((tag.name, 1));
                }
            }
            Token::Start(tag) => walk.open(tag),
            // The HTML parser reads a stray `</br>` as `<br>`.
            Token::End(name) if name == "br" => walk.open(Tag::named("br")),
            Token::End(name) if name == "a" => walk.close_link(),
            Token::End(_) => {}
        }
    }
    walk.close_link();
    walk.out.trim().to_owned()
}

/// The state of the walk: the text so far and the link being collected, if any.
#[derive(Default)]
struct Walk {
    out: String,
    /// `(label so far, href)` of the open `<a>`.
    link: Option<(String, String)>,
    /// Whether something was written since the last line break (PocketBase's `canAddNewLine`).
    can_break: bool,
}

impl Walk {
    /// Where text goes now: the open link's label, or the output.
    fn active(&mut self) -> &mut String {
        match &mut self.link {
            Some((label, _)) => label,
            None => &mut self.out,
        }
    }

    fn text(&mut self, text: &str) {
        let collapsed = collapse_whitespace(text);
        let text = if self.can_break {
            collapsed.as_str()
        } else {
            collapsed.trim_start_matches(' ')
        };
        if !text.is_empty() {
            self.active().push_str(text);
            self.can_break = true;
        }
    }

    fn open(&mut self, tag: Tag) {
        if tag.name == "a" {
            // A link cannot nest: the parser closes the open one first.
            self.close_link();
            let href = tag.attr("href").unwrap_or_default().to_owned();
            self.link = Some((String::new(), href));
            return;
        }
        if tag.name == "br" || (self.can_break && !INLINE.contains(&tag.name.as_str())) {
            self.active().push_str("\r\n");
            self.can_break = false;
        }
        if tag.name == "li" {
            self.active().push_str("- ");
        }
    }

    fn close_link(&mut self) {
        let Some((label, href)) = self.link.take() else {
            return;
        };
        let label = match label.trim() {
            "" => "LINK",
            label => label,
        };
        self.out.push('[');
        self.out.push_str(label);
        self.out.push(']');
        if !href.is_empty() {
            self.out.push('(');
            self.out.push_str(&href);
            self.out.push(')');
        }
    }
}

/// Go's `\s+` → `" "`: RE2's `\s` is ASCII whitespace only, so `&nbsp;` survives.
fn collapse_whitespace(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_space = false;
    for c in text.chars() {
        if matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0c') {
            if !in_space {
                out.push(' ');
            }
            in_space = true;
        } else {
            out.push(c);
            in_space = false;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// PocketBase's own `TestHtml2Text` table.
    #[test]
    fn matches_pocketbase_scenarios() {
        let cases: &[(&str, &str)] = &[
            ("", ""),
            ("ab  c", "ab c"),
            ("<!-- test html comment -->", ""),
            ("<!-- test html comment -->   a   ", "a"),
            ("<span>a</span>b<span>c</span>", "abc"),
            (r#"<a href="a/b/c">test</span>"#, "[test](a/b/c)"),
            (r#"<a href="">test</span>"#, "[test]"),
            ("<span>a</span>  <span>b</span>", "a b"),
            ("<span>a</span>   b   <span>c</span>", "a b c"),
            ("<span>a</span>   b   <div>c</div>", "a b \r\nc"),
            (FULL_DOCUMENT, FULL_DOCUMENT_TEXT),
        ];
        for (i, (html, expected)) in cases.iter().enumerate() {
            assert_eq!(html_to_text(html), *expected, "case {i}: {html:?}");
        }
    }

    #[test]
    fn converts_the_verification_template() {
        let html = "<p>Hello,</p>\n<p>Thank you for joining us at {APP_NAME}.</p>\n<p>Click on the button below to verify your email address.</p>\n<p>\n  <a class=\"btn\" href=\"{APP_URL}/_/#/auth/confirm-verification/{TOKEN}\" target=\"_blank\" rel=\"noopener\">Verify</a>\n</p>\n<p>\n  Thanks,<br/>\n  {APP_NAME} team\n</p>";
        assert_eq!(
            html_to_text(html),
            "Hello, \r\nThank you for joining us at {APP_NAME}. \r\n\
             Click on the button below to verify your email address. \r\n\
             [Verify]({APP_URL}/_/#/auth/confirm-verification/{TOKEN})  \r\n\
             Thanks,\r\n{APP_NAME} team"
        );
    }

    #[test]
    fn decodes_entities_and_drops_head_and_scripts() {
        let html = "<html><head><style>p{color:red}</style><script>if (a < b) {}</script></head>\
                    <body><p>Tom &amp; Jerry &lt;3 &quot;x&quot; &#39;y&#39; &#x41;&nbsp;b</p></body></html>";
        assert_eq!(html_to_text(html), "Tom & Jerry <3 \"x\" 'y' A\u{a0}b");
    }

    #[test]
    fn links_nest_lists_and_empty_labels() {
        assert_eq!(html_to_text(r#"<a href="u"> </a>"#), "[LINK](u)");
        assert_eq!(
            html_to_text(r#"<a href="x">one<a href="y">two</a>"#),
            "[one](x)[two](y)"
        );
        assert_eq!(html_to_text("<ul><li>a</li><li>b</li></ul>"), "- a\r\n- b");
        assert_eq!(html_to_text("a<br><br>b</br>c"), "a\r\n\r\nb\r\nc");
        assert_eq!(html_to_text("a<select><option>x</select>b"), "ab");
    }

    #[test]
    fn malformed_input_does_not_panic() {
        for html in [
            "<",
            "<a",
            "<a href=\"",
            "</",
            "<!--",
            "<!",
            "<?x",
            "<script>",
            "&",
            "&#;",
            "&#x110000;",
            "&#99999999999;",
            "<p <b>x",
            "é<é>&é;",
            "<a href='x'>\u{1F600}",
        ] {
            let _ = html_to_text(html);
        }
    }

    const FULL_DOCUMENT: &str = r#"
        <!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd">
        <html xmlns="http://www.w3.org/1999/xhtml">
        <head>
            <meta http-equiv="Content-Type" content="text/html; charset=UTF-8" />
            <meta name="viewport" content="width=device-width,initial-scale=1" />
            <style>
                body {
                    padding: 0;
                }
            </style>
        </head>
        <body>
            <!-- test html comment -->
            <style>
                body {
                    padding: 0;
                }
            </style>
            <div class="wrapper">
                <div class="content">
                    <p>Lorem ipsum</p>
                    <p>Dolor sit amet</p>
                    <p>
                        <a href="a/b/c">Verify</a>
                    </p>
                    <br>
                    <p>
                        <a href="a/b/c"><strong>Verify2.1</strong> <strong>Verify2.2</strong></a>
                    </p>
                    <br>
                    <br>
                    <div>
                        <div>
                            <div>
                                <ul>
                                    <li>ul.test1</li>
                                    <li>ul.test2</li>
                                    <li>ul.test3</li>
                                </ul>
                                <ol>
                                    <li>ol.test1</li>
                                    <li>ol.test2</li>
                                    <li>ol.test3</li>
                                </ol>
                            </div>
                        </div>
                    </div>
                    <select>
                        <option>Option 1</option>
                        <option>Option 2</option>
                    </select>
                    <textarea>test</textarea>
                    <input type="text" value="test" />
                    <button>test</button>
                    <p>
                        Thanks,<br/>
                        PocketBase team
                    </p>
                </div>
            </div>
        </body>
        </html>
    "#;

    const FULL_DOCUMENT_TEXT: &str = "Lorem ipsum \r\nDolor sit amet \r\n[Verify](a/b/c)  \r\n\
        [Verify2.1 Verify2.2](a/b/c)  \r\n\r\n- ul.test1 \r\n- ul.test2 \r\n- ul.test3  \r\n\
        - ol.test1 \r\n- ol.test2 \r\n- ol.test3         \r\nThanks,\r\nPocketBase team";
}
