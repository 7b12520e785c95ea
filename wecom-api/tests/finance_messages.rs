//! Every message type of the official 会话内容存档 page (doc 91774, 消息格式) decodes from
//! its documented example into its typed variant, with the fields the example carries.

use wecom_api::archive::{ArchivedContent, ArchivedMessage};
use wecom_api::finance::decode_message;

fn decode(json: &str) -> ArchivedMessage {
    match decode_message(json.as_bytes()) {
        Ok(message) => message,
        Err(e) => panic!("{e}\n{json}"),
    }
}

fn content(json: &str) -> ArchivedContent {
    decode(json).content.expect("a msgtype")
}

#[test]
fn text() {
    let m = decode(
        r#"{"msgid":"CAQQluDa4QUY0On2rYSAgAMgzPrShAE=","action":"send","from":"XuJinSheng","tolist":["icefog"],"roomid":"","msgtime":1547087894783,"msgtype":"text","text":{"content":"test"}}"#,
    );
    assert_eq!(m.msgid, "CAQQluDa4QUY0On2rYSAgAMgzPrShAE=");
    assert_eq!(m.action.as_deref(), Some("send"));
    assert_eq!(m.tolist, vec!["icefog".to_string()]);
    assert_eq!(m.msgtime, Some(1547087894783));
    let ArchivedContent::Text(t) = m.content.expect("content") else {
        panic!()
    };
    assert_eq!(t.content.as_deref(), Some("test"));
}

#[test]
fn image() {
    let ArchivedContent::Image(i) = content(
        r#"{"msgid":"CAQQvPnc4QUY0On2rYSAgAMgooLa0Q8=","action":"send","from":"XuJinSheng","tolist":["icefog"],"roomid":"","msgtime":1547087894783,"msgtype":"image","image":{"md5sum":"50de8e5ae8ffe4f1df7a93841f71993a","filesize":70961,"sdkfileid":"CtYBMzA2OTAyMDEwMjA0NjIzMDYwMDIwMTAwMDIwNGI3ZmU0MDZlMDIwMzBmNTliMTAyMDQ1YzliNTQ3NzAyMDQ1YzM3M2NiYzA0MjQ2NjM0MzgzNTM0NjEzNTY1MmQzNDYxMzQzODJkMzQzMTYxNjQyZDM5NjMzNjMyMmQzNzM1MzY2NDMzMzU2MjMzMzEzMTMwMjEwMjAxMDAwMjAzMDExNTQwMDQxMDUwZGU4ZTVhZThmZmU0ZjFkZjdhOTM4NDFmNzE5OTNhMDIwMTAyMDIwMTAwMDQwMBI4TkRkZk1UWTRPRGcxTURFM056RXdNVE13TVY4eE5UTTJPVFl3TlRReVh6RTFORGN3T0RjNE9UUT0aIGEwNGQwYWUyZmJlNDQ2OTA2OGMyNDdlM2NiMGU3OTUx"}}"#,
    ) else {
        panic!()
    };
    assert_eq!(i.filesize, Some(70961));
    assert_eq!(
        i.md5sum.as_deref(),
        Some("50de8e5ae8ffe4f1df7a93841f71993a")
    );
    assert!(
        i.sdkfileid
            .as_deref()
            .is_some_and(|id| id.starts_with("CtYBMzA2"))
    );
}

#[test]
fn revoke() {
    let ArchivedContent::Revoke(r) = content(
        r#"{"msgid":"15775510700152506326_1603875615","action":"recall","from":"kenshin","tolist":["0000726"],"roomid":"","msgtime":1562899222,"msgtype":"revoke","revoke":{"pre_msgid":"14822339130152506326_1603875615"}}"#,
    ) else {
        panic!()
    };
    assert_eq!(
        r.pre_msgid.as_deref(),
        Some("14822339130152506326_1603875615")
    );
}

#[test]
fn agree_and_disagree() {
    let ArchivedContent::Agree(a) = content(
        r#"{"msgid":"8891446340739254950_1603875826","action":"send","from":"wmGAgeDQAAvQeaTqWwkMTxGMkvI7OOuQ","tolist":["kenshin"],"roomid":"","msgtime":1603875826656,"msgtype":"agree","agree":{"userid":"wmGAgeDQAAvQeaTqWwkMTxGMkvI7OOuQ","agree_time":1603875826656}}"#,
    ) else {
        panic!()
    };
    assert_eq!(a.agree_time, Some(1603875826656));
    let ArchivedContent::Disagree(d) = content(
        r#"{"msgid":"17952229780246929345_1594197637","action":"send","from":"wo137MCgAAYW6pIiKKrDe5SlzEhSgwbA","tolist":["wo137MCgAAYW6pIiKKrDe5SlzEhSgwbA"],"msgtime":1594197581203,"msgtype":"disagree","disagree":{"userid":"wo137MCgAAYW6pIiKKrDe5SlzEhSgwbA","disagree_time":1594197581203}}"#,
    ) else {
        panic!()
    };
    assert_eq!(d.disagree_time, Some(1594197581203));
    assert_eq!(
        d.userid.as_deref(),
        Some("wo137MCgAAYW6pIiKKrDe5SlzEhSgwbA")
    );
}

#[test]
fn voice_video_card_location_emotion() {
    let ArchivedContent::Voice(v) = content(
        r#"{"msgid":"10958372969718811103_1603875609","action":"send","from":"wmGAgeDQAAsgQetTQGqRbMxrkodpM3fA","tolist":["kenshin"],"roomid":"","msgtime":1603875609704,"msgtype":"voice","voice":{"md5sum":"9db09c7fa627c9e53f17736c786a74d5","voice_size":6810,"play_length":10,"sdkfileid":"kcyZjZqOXhETGYxajB2Zkp5Rk8zYzh4RVF3OWRoNzRXM2XlYnM4UHJ2Q2EtVUtOZWVOWmJCcmlVUVdveklIcUd4REpqYWEtUG5UaFFvdlFjdWlsS0NqZ1hzV0phdzJRZ1QzWEdIZHZYR0lFRWF3VU1qOVVSanhHQ0lBR2hfNUpRZlVTMTVNT1hMYjVYaEJMTlpZZW5SYVh2NjlsOGVIV2MwelBfV2FHcFBnd1BhT2RkUEhVR2VqRGNPRFUwcFBmRw=="}}"#,
    ) else {
        panic!()
    };
    assert_eq!((v.voice_size, v.play_length), (Some(6810), Some(10)));
    let ArchivedContent::Video(v) = content(
        r#"{"msgid":"17955920891003447432_1603875627","action":"send","from":"kenshin","tolist":["wmGAgeDQAAHuRJbt2ZYjq2BOHT5jnfCQ"],"roomid":"","msgtime":1603875626823,"msgtype":"video","video":{"md5sum":"d06fc80c01d6fbffcca3b229ba41eac6","filesize":15169724,"play_length":108,"sdkfileid":"MzAzMjM2MzAzNTMzMzczMzMzMzMzMzk3MzIzMzQzMDMzMzYzNjM0MzY0MzIzMDMzMzMzNzMxMzUzMjM0MzEzMjM0MzMzMzM5MzYzNDM3MzkzNjMzMzQzNDMwMzMzMzMzMzcwMjAxMDQwMjAxMDAwNDAw"}}"#,
    ) else {
        panic!()
    };
    assert_eq!((v.filesize, v.play_length), (Some(15169724), Some(108)));
    let ArchivedContent::Card(c) = content(
        r#"{"msgid":"13714216591700685523_1603875680","action":"send","from":"kenshin","tolist":["wmGAgeDQAAHuRJbt2ZYjq2BOHT5jnfCQ"],"roomid":"","msgtime":1603875680377,"msgtype":"card","card":{"corpname":"北京合思信息技术有限公司","userid":"wmGAgeDQAAHuRJbt2ZYjq2BOHT5jnfCQ"}}"#,
    ) else {
        panic!()
    };
    assert_eq!(c.corpname.as_deref(), Some("北京合思信息技术有限公司"));
    let ArchivedContent::Location(l) = content(
        r#"{"msgid":"2641513858500683770_1603876152","action":"send","from":"icefog","tolist":["wmN6GuCgAA6cdwzR8mR0rPTjf_pKmD0A"],"roomid":"","msgtime":1603876152141,"msgtype":"location","location":{"longitude":116.586285899,"latitude":39.911125799,"address":"北京市xxx区xxx路xxx大厦x座","title":"xxx管理中心","zoom":15}}"#,
    ) else {
        panic!()
    };
    assert_eq!(l.longitude, Some(116.586285899));
    assert_eq!(l.zoom, Some(15));
    let ArchivedContent::Emotion(e) = content(
        r#"{"msgid":"6623217619416669654_1603875612","action":"send","from":"icef","tolist":["wmErxtDgAAhteCglUZH2kUt3rq431qmg"],"roomid":"","msgtime":1603875611148,"msgtype":"emotion","emotion":{"type":1,"width":100,"height":100,"imagesize":79927,"md5sum":"00f5bcc9e3d6c8d5b6f4c2e8a0d5c8ae","sdkfileid":"Cs4BMzA2YjAyMDEwMjA0NjQzMDYyMDIwMTAwMDIwNGJiNDQwNjBjMDIwMzBmNTliMTAyMDQ0NWI5NTQ3NzAy"}}"#,
    ) else {
        panic!()
    };
    assert_eq!(
        (e.kind, e.width, e.imagesize),
        (Some(1), Some(100), Some(79927))
    );
}

#[test]
fn file_link_weapp() {
    let ArchivedContent::File(f) = content(
        r#"{"msgid":"18039699423706571225_1603875608","action":"send","from":"kens","tolist":["wmErxtDgAArDlFIhf76O6w4GxU81al8w"],"roomid":"","msgtime":1603875608214,"msgtype":"file","file":{"md5sum":"18e93fc2ea884df23b3d2d3b8667b9f0","filename":"资料.docx","fileext":"docx","filesize":18181,"sdkfileid":"E4ODRkZjIzYjNkMmQzYjg2NjdiOWYwMDIwMTA1MDIwMTAwMDQwMBI4TkRkZk1UWTRPRGcxT0RjNE1EZ3lNRGN4TWpjeFh6RTROemcxT1RnM09EQXhOakJmTVRZd016ZzNOVFl3T0E9PRogNTEzODcxNzM0ODYyMTkwMjM4NjMyNzg3NTA5NTc5NzU="}}"#,
    ) else {
        panic!()
    };
    assert_eq!(
        (f.filename.as_deref(), f.fileext.as_deref(), f.filesize),
        (Some("资料.docx"), Some("docx"), Some(18181))
    );
    let ArchivedContent::Link(l) = content(
        r#"{"msgid":"11788441727514772650_1603875624","action":"send","from":"kenshin","tolist":["0000726"],"roomid":"","msgtime":1603875624476,"msgtype":"link","link":{"title":"邀请你加入群聊","description":"技术支持群，进入可查看详情","link_url":"https://work.weixin.qq.com/wework_admin/external_room/join/exceed?vcode=xxx","image_url":"https://wework.qpic.cn/wwpic/972193_wKbjo8L6TZOT-UI_1588752240/0"}}"#,
    ) else {
        panic!()
    };
    assert_eq!(l.title.as_deref(), Some("邀请你加入群聊"));
    assert!(
        l.link_url
            .as_deref()
            .is_some_and(|u| u.starts_with("https://work.weixin.qq.com/"))
    );
    let ArchivedContent::Weapp(w) = content(
        r#"{"msgid":"11930598857592605935_1603875608","action":"send","from":"kens","tolist":["wmGAgeDQAAsgQetTQGqRbMxrkodpM3fA"],"roomid":"","msgtime":1603875608691,"msgtype":"weapp","weapp":{"title":"开始聊天前请仔细阅读服务须知事项","description":"客户需同意存档聊天记录","username":"xxx@app","displayname":"服务须知"}}"#,
    ) else {
        panic!()
    };
    assert_eq!(w.displayname.as_deref(), Some("服务须知"));
}

#[test]
fn chatrecord_todo_vote_collect() {
    let ArchivedContent::ChatRecord(r) = content(
        r#"{"msgid":"11354299838102555191_1603875612","action":"send","from":"ken","tolist":["icef"],"roomid":"","msgtime":1603875611148,"msgtype":"chatrecord","chatrecord":{"title":"群聊","item":[{"type":"ChatRecordText","msgtime":1603875610,"content":"{\"content\":\"test\"}","from_chatroom":false},{"type":"ChatRecordText","msgtime":1603875620,"content":"{\"content\":\"test2\"}","from_chatroom":false}]}}"#,
    ) else {
        panic!()
    };
    assert_eq!(r.items.len(), 2);
    assert_eq!(r.items[1].kind.as_deref(), Some("ChatRecordText"));
    assert_eq!(r.items[0].from_chatroom, Some(false));
    assert_eq!(r.items[0].content.as_deref(), Some(r#"{"content":"test"}"#));
    let ArchivedContent::Todo(t) = content(
        r#"{"msgid":"6623217619416669654_1603875612","action":"send","from":"ken","tolist":["icef","test","wmErxtDgAAhteCglUZH2kUt3rq431qmg"],"roomid":"wrErxtDgAAzmCw2Z9l6VqpV1E0_cHg","msgtime":1603875612041,"msgtype":"todo","todo":{"title":"测试待办","content":"test"}}"#,
    ) else {
        panic!()
    };
    assert_eq!(t.title.as_deref(), Some("测试待办"));
    let ArchivedContent::Vote(v) = content(
        r#"{"msgid":"2707352395672108002_1603875612","action":"send","from":"wmErxtDgAA9AW32YyyuYRimKr7D1KWlw","tolist":["icef"],"roomid":"wrErxtDgAA0jgXE5a-5OQdhGNF6Zi-7A","msgtime":1603875612161,"msgtype":"vote","vote":{"votetitle":"111","voteitem":["111","222"],"votetype":101,"voteid":"2707352395672108002_1603875612"}}"#,
    ) else {
        panic!()
    };
    assert_eq!(v.voteitem, vec!["111".to_string(), "222".to_string()]);
    assert_eq!(v.votetype, Some(101));
    let ArchivedContent::Collect(c) = content(
        r#"{"msgid":"2641513858500683770_1603876152","action":"send","from":"icefog","tolist":["wmN6GuCgAA6cdwzR8mR0rPTjf_pKmD0A"],"roomid":"wrN6GuCgAALtjfr0cEcETHGjmMLyFmuw","msgtime":1603876152141,"msgtype":"collect","collect":{"room_name":"这是一个群","creator":"icefog","create_time":"2020-10-28 17:09:12","title":"表格","details":[{"id":1,"ques":"表项1，文本","type":"Text"},{"id":2,"ques":"表项2，数字","type":"Number"},{"id":3,"ques":"表项3，日期","type":"Date"},{"id":4,"ques":"表项4，时间","type":"Time"}]}}"#,
    ) else {
        panic!()
    };
    assert_eq!(c.details.len(), 4);
    assert_eq!(c.details[3].kind.as_deref(), Some("Time"));
    assert_eq!(c.create_time.as_deref(), Some("2020-10-28 17:09:12"));
}

#[test]
fn redpacket_meeting_switch_doc_markdown_news() {
    let ArchivedContent::RedPacket(r) = content(
        r#"{"msgid":"333590477316965370_1603877439","action":"send","from":"ken","tolist":["1688851134823281"],"roomid":"","msgtime":1603877439038,"msgtype":"redpacket","redpacket":{"type":1,"wish":"恭喜发财，大吉大利","totalcnt":1,"totalamount":3000}}"#,
    ) else {
        panic!()
    };
    assert_eq!((r.kind, r.totalamount), (Some(1), Some(3000)));
    let ArchivedContent::Meeting(m) = content(
        r#"{"msgid":"5935618947567910032_1603875693","action":"send","from":"ken","tolist":["icef","test"],"roomid":"wr9FPUDQAAHsgwPIi5yBJphs41fZ8oJA","msgtime":1603875693006,"msgtype":"meeting","meeting":{"topic":"夕会","starttime":1603875600,"endtime":1603879200,"address":"","remarks":"","meetingtype":102,"meetingid":1306387246,"status":1}}"#,
    ) else {
        panic!()
    };
    assert_eq!(
        (m.meetingid, m.meetingtype, m.status),
        (Some(1306387246), Some(102), Some(1))
    );
    // 切换企业日志: no msgtype.
    let s = decode(
        r#"{"msgid":"125289002219525886280","action":"switch","time":1554119421840,"user":"XuJinSheng"}"#,
    );
    assert_eq!(
        (s.action.as_deref(), s.time.as_deref(), s.user.as_deref()),
        (Some("switch"), Some("1554119421840"), Some("XuJinSheng"))
    );
    assert!(s.content.is_none());
    let ArchivedContent::DocMsg(d) = content(
        r#"{"msgid":"9732421280537591208_1603875715","action":"send","from":"ken","tolist":["wmErxtDgAA0z5SofpxeJFoEGo_WS8FEw"],"roomid":"","msgtime":1603875714976,"msgtype":"docmsg","doc":{"title":"测试&演示客户","doc_creator":"test","link_url":"https://doc.weixin.qq.com/txdoc/excel?scode=xxx&docid=xxx&type=0"}}"#,
    ) else {
        panic!()
    };
    assert_eq!(d.doc_creator.as_deref(), Some("test"));
    let ArchivedContent::Markdown(m) = content(
        r#"{"msgid":"2641513858500683770_1603876152","action":"send","from":"ken","tolist":["wmN6GuCgAA6cdwzR8mR0rPTjf_pKmD0A"],"roomid":"wrN6GuCgAALtjfr0cEcETHGjmMLyFmuw","msgtime":1603876152141,"msgtype":"markdown","info":{"content":"请前往系统查看，谢谢。"}}"#,
    ) else {
        panic!()
    };
    assert_eq!(m.content.as_deref(), Some("请前往系统查看，谢谢。"));
    let ArchivedContent::News(n) = content(
        r#"{"msgid":"118732825779547782215","action":"send","from":"kens","tolist":["icef","test"],"roomid":"wrErxtDgAA0jgXE5a-5OQdhGNF6Zi-7A","msgtime":1603876045165,"msgtype":"news","info":{"item":[{"title":"service ","description":"test","url":"http://xxx","picurl":"https://www.qq.com/xxx.jpg"}]}}"#,
    ) else {
        panic!()
    };
    assert_eq!(
        n.items[0].picurl.as_deref(),
        Some("https://www.qq.com/xxx.jpg")
    );
}

#[test]
fn calendar_mixed_meeting_voice_call_voip_doc_share() {
    let ArchivedContent::Calendar(c) = content(
        r#"{"msgid":"2641513858500683770_1603876152","action":"send","from":"icefog","tolist":["wmN6GuCgAA6cdwzR8mR0rPTjf_pKmD0A"],"roomid":"wrN6GuCgAALtjfr0cEcETHGjmMLyFmuw","msgtime":1603876152141,"msgtype":"calendar","calendar":{"title":"xxx","creatorname":"IceFog","attendeename":["wmN6GuCgAA6cdwzR8mR0rPTjf_pKmD0A"],"starttime":1603877400,"endtime":1603881000,"place":"","remarks":""}}"#,
    ) else {
        panic!()
    };
    assert_eq!(c.attendeename.len(), 1);
    assert_eq!(c.starttime, Some(1603877400));
    let ArchivedContent::Mixed(m) = content(
        r#"{"msgid":"DAQQluDa4QUY0On4kYSABAMgzPrShAE=","action":"send","from":"HeMiao","tolist":["HeChangTian","LiuZeYu"],"roomid":"wr_tZ2BwAAUwHpYMwy9cIWqnlU3Hzqfg","msgtime":1577414359072,"msgtype":"mixed","mixed":{"item":[{"type":"text","content":"{\"content\":\"你好[微笑]\\n\"}"},{"type":"image","content":"{\"md5sum\":\"368b6c18c82e6441bfd89b343e9d2429\",\"filesize\":13177,\"sdkfileid\":\"CtYBMzA2OTAy\"}"}]}}"#,
    ) else {
        panic!()
    };
    assert_eq!(m.items.len(), 2);
    assert_eq!(m.items[1].kind.as_deref(), Some("image"));
    let inner: serde_json::Value =
        serde_json::from_str(m.items[0].content.as_deref().expect("content")).expect("json");
    assert_eq!(inner["content"], "你好[微笑]\n");
    let call = decode(
        r#"{"msgid":"17952229780246929345_1594197637","action":"send","from":"wo137MCgAAYW6pIiKKrDe5SlzEhSgwbA","tolist":["wo137MCgAAYW6pIiKKrDe5SlzEhSgwbA"],"msgtime":1594197581203,"msgtype":"meeting_voice_call","voiceid":"grb8a4c48a3c094a70982c518d55e40557","meeting_voice_call":{"endtime":1594197635,"sdkfileid":"CpsBKjAqd0xhb2JWRUJldGtwcE5DVTB6UjRUalN6c09vTjVyRnF4YVJ5M24rZC9YcHF3cHRPVzRwUUlaMy9iTytFcnc0SlBkZDU1YjRNb0MzbTZtRnViOXV5WjUwZUIwKzhjbU9uRUlxZ3pyK2VXSVhUWVN2ejAyWFJaTldGSkRJVFl0aUhkcVdjbDJ1L2RPbjJsRlBOamJaVDNnPT0SOE5EZGZNVFk0T0RnMU16YzVNVGt5T1RJMk9GOHhNalk0TXpBeE9EZzJYekUxT1RReE9UYzJNemM9GiA3YTYyNzA3NTY4Nzc2MTY3NzQ2MTY0NzA2ZTc4NjQ2OQ==","demofiledata":[{"filename":"65eb1cdd3e7a3c1740ecd74220b6c627.docx","demooperator":"wo137MCgAAYW6pIiKKrDe5SlzEhSgwbA","starttime":1594197599,"endtime":1594197609}],"sharescreendata":[{"share":"wo137MCgAAYW6pIiKKrDe5SlzEhSgwbA","starttime":1594197624,"endtime":1594197624}]}}"#,
    );
    assert_eq!(
        call.voiceid.as_deref(),
        Some("grb8a4c48a3c094a70982c518d55e40557")
    );
    let Some(ArchivedContent::MeetingVoiceCall(v)) = call.content else {
        panic!()
    };
    assert_eq!(
        v.demofiledata[0].filename.as_deref(),
        Some("65eb1cdd3e7a3c1740ecd74220b6c627.docx")
    );
    assert_eq!(v.sharescreendata[0].starttime, Some(1594197624));
    let share = decode(
        r#"{"msgid":"16527954622422422847_1594199256","action":"send","from":"18002520162","tolist":["wo137MCgAAYW6pIiKKrDe5SlzEhSgwbA"],"msgtime":1594199235014,"msgtype":"voip_doc_share","voipid":"gr2751c98b19300571f8afb3b74514bd32","voip_doc_share":{"filename":"欢迎使用微盘.pdf.pdf","md5sum":"ff893900f24e55e216e617a40e5c4648","filesize":4400654,"sdkfileid":"CpsBKjAqZUlLdWJMd2gvQ1JxMzd0ZjlpdW5mZzJOOE9JZm5kbndvRmRqdnBETjY0QlcvdGtHSFFTYm95dHM2VlllQXhkUUN5KzRmSy9KT3pudnA2aHhYZFlPemc2aVZ6YktzaVh3YkFPZHlqNnl2L2MvcGlqcVRjRTlhZEZsOGlGdHJpQ2RWSVNVUngrVFpuUmo3TGlPQ1BJemlRPT0SOE5EZGZNVFk0T0RnMU16YzVNVGt5T1RJMk9GODFNelUyTlRBd01qQmZNVFU1TkRFNU9USTFOZz09GiA3YTcwNmQ2Zjc5NjY3MDZjNjY2Zjc4NzI3NTZmN2E2YQ=="}}"#,
    );
    assert_eq!(
        share.voipid.as_deref(),
        Some("gr2751c98b19300571f8afb3b74514bd32")
    );
    let Some(ArchivedContent::VoipDocShare(d)) = share.content else {
        panic!()
    };
    assert_eq!(d.filesize, Some(4400654));
}

#[test]
fn external_redpacket_sphfeed_voiptext_qydiskfile() {
    let ArchivedContent::ExternalRedPacket(r) = content(
        r#"{"msgid":"8632214264349267072_1603786184","action":"send","from":"wmErxtDgAA9AW32YyyuYRimKr7D1KWlw","tolist":["icef"],"roomid":"","msgtime":1603786183955,"msgtype":"external_redpacket","redpacket":{"type":1,"wish":"恭喜发财，大吉大利","totalcnt":2,"totalamount":20}}"#,
    ) else {
        panic!()
    };
    assert_eq!((r.totalcnt, r.totalamount), (Some(2), Some(20)));
    let ArchivedContent::SphFeed(s) = content(
        r#"{"msgid":"5702551662099334532_1619511584_external","action":"send","from":"icef","tolist":["wmErxtDgAAhteCglUZH2kUt3rq431qmg"],"roomid":"","msgtime":1619511584444,"msgtype":"sphfeed","sphfeed":{"feed_type":4,"sph_name":"腾讯","feed_desc":"欢迎使用企业微信"}}"#,
    ) else {
        panic!()
    };
    assert_eq!(
        (s.feed_type, s.sph_name.as_deref()),
        (Some(4), Some("腾讯"))
    );
    let ArchivedContent::VoipText(v) = content(
        r#"{"msgid":"N2_r4bOYtabS7ieuokAWoAlymXJ4bRtdmKXp0VCDg-Ki-A-0RdGrDJy_kDqAgDCHmz3e_Sk_K0J-xngfMA6Ohg","action":"send","from":"wmN6GuCgAAqMVU82rRRjkFJ9hW1T9OCQ","tolist":["icefog"],"roomid":"","msgtime":1631515932000,"msgtype":"voiptext","info":{"callduration":10,"invitetype":1}}"#,
    ) else {
        panic!()
    };
    assert_eq!((v.callduration, v.invitetype), (Some(10), Some(1)));
    let ArchivedContent::QyDiskFile(q) = content(
        r#"{"msgid":"N2_r4bOYtabS7ieuokAWoAlymXJ4bRtdmKXp0VCDg-Ki-A-0RdGrDJy_kDqAgDCHmz3e_Sk_K0J-xngfMA6Ohg","action":"send","from":"icefog","tolist":["wmN6GuCgAAqMVU82rRRjkFJ9hW1T9OCQ"],"roomid":"","msgtime":1631515932000,"msgtype":"qydiskfile","info":{"filename":"微盘文件.pdf"}}"#,
    ) else {
        panic!()
    };
    assert_eq!(q.filename.as_deref(), Some("微盘文件.pdf"));
}

/// 会议控制消息: the page's example (a public markdown crawl of doc 91774) carries its id as
/// `meeting_id` and the message's `time` as text, where the switch log's is a number.
#[test]
fn meeting_notification() {
    let m = decode(
        r#"{"action": "send","from": "18510382533","info": {"content": "yinhuiyou的快速会议 已结束","meeting_id": 6072773153468854000,"notification_type": 2},"msgid": "14158408185591086566_1700815962253","msgtime": 1700815958880,"msgtype": "meeting_notification","roomid": "","tolist": ["DuDuDu"],"time": "2023-11-24 16:52:38:880"}"#,
    );
    assert_eq!(m.time.as_deref(), Some("2023-11-24 16:52:38:880"));
    let Some(ArchivedContent::MeetingNotification(n)) = m.content else {
        panic!("{:?}", m.content)
    };
    assert_eq!(
        (n.meeting_id, n.notification_type, n.content.as_deref()),
        (
            Some(6072773153468854000),
            Some(2),
            Some("yinhuiyou的快速会议 已结束")
        )
    );
    assert_eq!(n.meetingid, None);
}

#[test]
fn unknown_types_are_kept_whole_and_numbers_read_leniently() {
    let m = decode(
        r#"{"msgid":"x1","action":"send","from":"a","tolist":["b"],"roomid":"","msgtime":"1603875612041","msgtype":"brand_new_type","brand_new_type":{"anything":[1,2,3]}}"#,
    );
    assert_eq!(
        m.msgtime,
        Some(1603875612041),
        "a number written as text still reads"
    );
    let Some(ArchivedContent::Unknown(fields)) = m.content else {
        panic!("{:?}", m.content)
    };
    let whole = serde_json::to_value(&fields).expect("serializes");
    assert_eq!(whole["msgtype"], "brand_new_type");
    assert_eq!(whole["brand_new_type"]["anything"][2], 3);
    let err = decode_message(b"{\"action\":\"send\"}").expect_err("msgid is required");
    assert!(err.to_string().contains("msgid"), "{err}");
    let err = decode_message(
        br#"{"msgid":"m","msgtype":"image","image":{"filesize":{"not":"a number"}}}"#,
    )
    .expect_err("filesize is an object");
    assert!(err.to_string().contains("image.filesize"), "{err}");
    let err = decode_message(br#"{"msgid":"m","tolist":["a",}"#).expect_err("broken JSON");
    assert!(err.to_string().contains("tolist"), "{err}");
}
