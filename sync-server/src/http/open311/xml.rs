//! The XML forms of Open311's answers (XML is the spec's required format): a small writer
//! that escapes every text and drops the characters XML 1.0 cannot carry.

use crate::service::open311::{FiledAnswer, Service, ServiceDefinition, ServiceRequest, TokenAnswer};

pub struct Xml {
    out: String,
}

impl Default for Xml {
    fn default() -> Self {
        Xml::new()
    }
}

impl Xml {
    pub fn new() -> Xml {
        Xml { out: String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n") }
    }

    pub fn open(&mut self, tag: &str) -> &mut Self {
        self.out.push('<');
        self.out.push_str(tag);
        self.out.push('>');
        self
    }

    pub fn close(&mut self, tag: &str) -> &mut Self {
        self.out.push_str("</");
        self.out.push_str(tag);
        self.out.push('>');
        self
    }

    /// `<tag>text</tag>`, or `<tag/>` for none.
    pub fn leaf(&mut self, tag: &str, text: Option<&str>) -> &mut Self {
        match text {
            Some(t) => {
                self.open(tag);
                escape_into(&mut self.out, t);
                self.close(tag)
            }
            None => {
                self.out.push('<');
                self.out.push_str(tag);
                self.out.push_str("/>");
                self
            }
        }
    }

    pub fn text(&mut self, tag: &str, text: &str) -> &mut Self {
        self.leaf(tag, Some(text))
    }

    pub fn finish(self) -> String {
        self.out
    }
}

fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // XML 1.0 has no way to carry other control characters.
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
}

pub fn services(list: &[Service]) -> String {
    let mut x = Xml::new();
    x.open("services");
    for s in list {
        x.open("service")
            .text("service_code", &s.service_code)
            .text("service_name", &s.service_name)
            .text("description", &s.description)
            .text("metadata", if s.metadata { "true" } else { "false" })
            .text("type", &s.kind)
            .text("keywords", &s.keywords)
            .text("group", &s.group)
            .close("service");
    }
    x.close("services");
    x.finish()
}

pub fn definition(d: &ServiceDefinition) -> String {
    let mut x = Xml::new();
    x.open("service_definition").text("service_code", &d.service_code).leaf("attributes", None).close("service_definition");
    x.finish()
}

pub fn requests(list: &[ServiceRequest]) -> String {
    let mut x = Xml::new();
    x.open("service_requests");
    for r in list {
        let (lat, long) = (r.lat.to_string(), r.long.to_string());
        x.open("request")
            .text("service_request_id", &r.service_request_id)
            .text("status", &r.status)
            .leaf("status_notes", r.status_notes.as_deref())
            .text("service_name", &r.service_name)
            .text("service_code", &r.service_code)
            .text("description", &r.description)
            .leaf("agency_responsible", r.agency_responsible.as_deref())
            .leaf("service_notice", r.service_notice.as_deref())
            .text("requested_datetime", &r.requested_datetime)
            .text("updated_datetime", &r.updated_datetime)
            .leaf("expected_datetime", r.expected_datetime.as_deref())
            .leaf("address", r.address.as_deref())
            .leaf("address_id", r.address_id.as_deref())
            .leaf("zipcode", r.zipcode.as_deref())
            .text("lat", &lat)
            .text("long", &long)
            .leaf("media_url", r.media_url.as_deref())
            .close("request");
    }
    x.close("service_requests");
    x.finish()
}

pub fn filed(list: &[FiledAnswer]) -> String {
    let mut x = Xml::new();
    x.open("service_requests");
    for f in list {
        x.open("request")
            .text("service_request_id", &f.service_request_id)
            .text("token", &f.token)
            .text("service_notice", &f.service_notice)
            .leaf("account_id", f.account_id.as_deref())
            .close("request");
    }
    x.close("service_requests");
    x.finish()
}

pub fn tokens(list: &[TokenAnswer]) -> String {
    let mut x = Xml::new();
    x.open("service_requests");
    for t in list {
        x.open("request").text("service_request_id", &t.service_request_id).text("token", &t.token).close("request");
    }
    x.close("service_requests");
    x.finish()
}

pub fn errors(code: u16, description: &str) -> String {
    let mut x = Xml::new();
    x.open("errors")
        .open("error")
        .text("code", &code.to_string())
        .text("description", description)
        .close("error")
        .close("errors");
    x.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_and_control_characters_dropped() {
        let mut x = Xml::new();
        x.text("a", "<b>&\"'\u{1}\n").leaf("c", None);
        assert!(x.finish().ends_with("<a>&lt;b&gt;&amp;&quot;&apos;\n</a><c/>"));
    }
}
