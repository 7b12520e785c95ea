//! Building passive replies and encrypting them in one call.

use std::time::{SystemTime, UNIX_EPOCH};

use super::crypto::random_nonce;
use super::{
    Callback, CallbackCrypto, ImageReply, NewsArticle, NewsReply, Reply, ReplyButton, ReplyMedia,
    ReplyVideo, TextReply, UpdateButtonReply, VideoReply, VoiceReply,
};
use crate::Result;

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

impl Reply {
    /// A text reply.
    pub fn text(content: impl Into<String>) -> Self {
        Reply::Text(TextReply {
            msg_type: Some("text".into()),
            content: Some(content.into()),
            ..Default::default()
        })
    }

    /// An image reply, by the `media_id` of an uploaded image.
    pub fn image(media_id: impl Into<String>) -> Self {
        Reply::Image(ImageReply {
            msg_type: Some("image".into()),
            image: Some(ReplyMedia {
                media_id: Some(media_id.into()),
                ..Default::default()
            }),
            ..Default::default()
        })
    }

    /// A voice reply, by the `media_id` of an uploaded voice file.
    pub fn voice(media_id: impl Into<String>) -> Self {
        Reply::Voice(VoiceReply {
            msg_type: Some("voice".into()),
            voice: Some(ReplyMedia {
                media_id: Some(media_id.into()),
                ..Default::default()
            }),
            ..Default::default()
        })
    }

    /// A video reply, by the `media_id` of an uploaded video, with optional title and
    /// description.
    pub fn video(
        media_id: impl Into<String>,
        title: Option<String>,
        description: Option<String>,
    ) -> Self {
        Reply::Video(VideoReply {
            msg_type: Some("video".into()),
            video: Some(ReplyVideo {
                media_id: Some(media_id.into()),
                title,
                description,
                ..Default::default()
            }),
            ..Default::default()
        })
    }

    /// A news reply (图文): the first article is shown large.
    pub fn news(articles: Vec<NewsArticle>) -> Self {
        Reply::News(NewsReply {
            msg_type: Some("news".into()),
            article_count: Some(i64::try_from(articles.len()).unwrap_or(i64::MAX)),
            articles: Some(articles),
            ..Default::default()
        })
    }

    /// The template-card update that replaces the clicked button's text (and disables it),
    /// the answer to a `template_card_event`.
    pub fn update_button(replace_name: impl Into<String>) -> Self {
        Reply::UpdateButton(UpdateButtonReply {
            msg_type: Some("update_button".into()),
            button: Some(ReplyButton {
                replace_name: Some(replace_name.into()),
                ..Default::default()
            }),
            ..Default::default()
        })
    }

    /// Addresses the reply to the sender of `received` (its `FromUserName` becomes
    /// `ToUserName` and the reverse) and stamps `CreateTime` with the current time.
    pub fn to(self, received: &Callback) -> Self {
        let fields = received.to_fields();
        self.addressed(
            fields.text("FromUserName").unwrap_or_default(),
            fields.text("ToUserName").unwrap_or_default(),
            now(),
        )
    }

    /// Sets the header: the member's UserID, the CorpID, and the creation time.
    pub fn addressed(
        mut self,
        to_user_name: impl Into<String>,
        from_user_name: impl Into<String>,
        create_time: i64,
    ) -> Self {
        let (to, from, time) = match &mut self {
            Reply::Text(r) => (
                &mut r.to_user_name,
                &mut r.from_user_name,
                &mut r.create_time,
            ),
            Reply::Image(r) => (
                &mut r.to_user_name,
                &mut r.from_user_name,
                &mut r.create_time,
            ),
            Reply::Voice(r) => (
                &mut r.to_user_name,
                &mut r.from_user_name,
                &mut r.create_time,
            ),
            Reply::Video(r) => (
                &mut r.to_user_name,
                &mut r.from_user_name,
                &mut r.create_time,
            ),
            Reply::News(r) => (
                &mut r.to_user_name,
                &mut r.from_user_name,
                &mut r.create_time,
            ),
            Reply::UpdateButton(r) => (
                &mut r.to_user_name,
                &mut r.from_user_name,
                &mut r.create_time,
            ),
            Reply::Unknown(fields) => {
                fields.insert("ToUserName".into(), to_user_name.into().into());
                fields.insert("FromUserName".into(), from_user_name.into().into());
                fields.insert("CreateTime".into(), create_time.into());
                return self;
            }
        };
        *to = Some(to_user_name.into());
        *from = Some(from_user_name.into());
        *time = Some(create_time);
        self
    }

    /// Encrypts the reply: the result is the response body for WeCom.
    pub fn encrypt(&self, crypto: &CallbackCrypto, timestamp: &str, nonce: &str) -> Result<String> {
        crypto.encrypt_reply(&self.to_xml(), timestamp, nonce)
    }

    /// [`encrypt`](Self::encrypt) with the current time and a fresh random nonce.
    pub fn encrypt_now(&self, crypto: &CallbackCrypto) -> Result<String> {
        self.encrypt(crypto, &now().to_string(), &random_nonce())
    }
}

impl NewsArticle {
    /// An article with a title and a link; set `description` and `pic_url` as needed.
    pub fn new(title: impl Into<String>, url: impl Into<String>) -> Self {
        NewsArticle {
            title: Some(title.into()),
            url: Some(url.into()),
            ..Default::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_are_addressed_to_the_sender() {
        let received = Callback::parse(
            "<xml><ToUserName>corp</ToUserName><FromUserName>zhangsan</FromUserName>\
             <CreateTime>1</CreateTime><MsgType>text</MsgType><Content>hi</Content></xml>",
        )
        .unwrap();
        let xml = Reply::text("hello ]]> there").to(&received).to_xml();
        assert!(
            xml.starts_with(
                "<xml><ToUserName><![CDATA[zhangsan]]></ToUserName>\
             <FromUserName><![CDATA[corp]]></FromUserName><CreateTime>"
            ),
            "{xml}"
        );
        assert!(
            xml.ends_with(
                "<MsgType><![CDATA[text]]></MsgType>\
             <Content><![CDATA[hello ]]]]><![CDATA[> there]]></Content></xml>"
            ),
            "{xml}"
        );
        let parsed = Reply::parse(&xml).unwrap();
        let Reply::Text(text) = parsed else {
            panic!("{parsed:?}")
        };
        assert_eq!(text.content.as_deref(), Some("hello ]]> there"));
    }

    #[test]
    fn news_and_button_replies_have_the_documented_shape() {
        let mut article = NewsArticle::new("t1", "https://a");
        article.pic_url = Some("https://p".into());
        let xml = Reply::news(vec![article, NewsArticle::new("t2", "https://b")])
            .addressed("u", "c", 5)
            .to_xml();
        assert_eq!(
            xml,
            "<xml><ToUserName><![CDATA[u]]></ToUserName><FromUserName><![CDATA[c]]></FromUserName>\
             <CreateTime>5</CreateTime><MsgType><![CDATA[news]]></MsgType>\
             <ArticleCount>2</ArticleCount><Articles>\
             <item><Title><![CDATA[t1]]></Title><PicUrl><![CDATA[https://p]]></PicUrl><Url><![CDATA[https://a]]></Url></item>\
             <item><Title><![CDATA[t2]]></Title><Url><![CDATA[https://b]]></Url></item>\
             </Articles></xml>"
        );
        let button = Reply::update_button("已处理")
            .addressed("u", "c", 5)
            .to_xml();
        assert!(button.contains(
            "<MsgType><![CDATA[update_button]]></MsgType><Button><ReplaceName><![CDATA[已处理]]></ReplaceName></Button>"
        ), "{button}");
        for reply in [
            Reply::image("m"),
            Reply::voice("m"),
            Reply::video("m", Some("t".into()), None),
        ] {
            let xml = reply.to_xml();
            assert!(xml.contains("<MediaId><![CDATA[m]]></MediaId>"), "{xml}");
            assert_eq!(Reply::parse(&xml).unwrap(), reply);
        }
    }

    #[test]
    fn a_reply_encrypts_in_one_call_and_decrypts_back() {
        let crypto =
            CallbackCrypto::new("tok", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", "corp")
                .unwrap();
        let reply = Reply::text("ok").addressed("u", "corp", 9);
        let envelope = reply.encrypt_now(&crypto).unwrap();
        let fields = super::super::parse_fields(&envelope).unwrap();
        let text = |k: &str| fields.text(k).unwrap();
        let plain = crypto
            .decrypt(
                &text("MsgSignature"),
                &text("TimeStamp"),
                &text("Nonce"),
                &text("Encrypt"),
            )
            .unwrap();
        assert_eq!(plain, reply.to_xml());
    }
}
