//! WeDrive's chunked upload (文件分块上传, doc 98004) as one call: the file is read from disk
//! in 2 MiB blocks, never whole; its size and cumulative block SHA-1s are computed as WeCom
//! requires; `upload_init` may finish at once (秒传); otherwise every block goes up with
//! `upload_part` and `upload_finish` returns the new file's id.
//!
//! The block hashes (附录「分块累积sha说明」): SHA-1 runs over the whole file; after each full
//! block its internal state (h0..h4) is written as hex; the last block's value is the SHA-1
//! of the whole file. WeCom's reference tool (github.com/wecomopen/file_block_digest) dumps
//! the five state words as they lie in memory on a little-endian machine, so each word's
//! bytes come out low byte first: that is what WeCom compares, and what we write.

use std::path::Path;

use sha1::{Digest, Sha1};
use tokio::io::AsyncReadExt;

use crate::{Error, Result};

/// WeCom's fixed block size: 2 MiB.
pub const BLOCK_SIZE: usize = 2 * 1024 * 1024;

/// WeDrive's documented largest file: 20 GiB.
pub const MAX_FILE_SIZE: u64 = 20 * 1024 * 1024 * 1024;

/// Where a chunked upload puts the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WedriveTarget {
    /// A folder: the space id and the folder's file id (the space id for its root).
    Folder {
        /// Space id.
        spaceid: String,
        /// Folder file id; the space id for the root.
        fatherid: String,
    },
    /// The `selectedTicket` of the WeDrive file picker (JS-SDK).
    SelectedTicket(String),
}

/// The cumulative SHA-1 of each 2 MiB block of `data`, as `file_upload_init` takes them.
///
/// ```
/// let hashes = wecom_api::chunked_upload::block_sha(b"hello");
/// // One block: its value is the SHA-1 of the whole file.
/// assert_eq!(hashes, ["aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d"]);
/// ```
pub fn block_sha(data: &[u8]) -> Vec<String> {
    let mut hasher = BlockSha::default();
    for block in data.chunks(BLOCK_SIZE) {
        hasher.update(block);
    }
    hasher.finish()
}

/// Streaming form of [`block_sha`]: feed whole blocks in order, then `finish`.
#[derive(Default)]
struct BlockSha {
    state: Option<[u32; 5]>,
    whole: Sha1,
    hashes: Vec<String>,
    pending_last: bool,
}

/// An intermediate state as WeCom writes it: each word's bytes low byte first (the reference
/// tool's raw memory dump of the state on little-endian hardware), whatever our own
/// byte order.
fn state_hex(state: &[u32; 5]) -> String {
    let mut out = String::with_capacity(40);
    for byte in state.iter().flat_map(|word| word.to_le_bytes()) {
        out.push(char::from(HEX[usize::from(byte >> 4)]));
        out.push(char::from(HEX[usize::from(byte & 0xf)]));
    }
    out
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// SHA-1's initial state (FIPS 180-4, 5.3.1).
const SHA1_INIT: [u32; 5] = [
    0x6745_2301,
    0xEFCD_AB89,
    0x98BA_DCFE,
    0x1032_5476,
    0xC3D2_E1F0,
];

impl BlockSha {
    /// One block: `BLOCK_SIZE` bytes, or fewer for the last one.
    fn update(&mut self, block: &[u8]) {
        self.whole.update(block);
        if block.len() == BLOCK_SIZE {
            // A full block is a whole number of 64-byte SHA-1 blocks: no buffering needed.
            let state = self.state.get_or_insert(SHA1_INIT);
            let blocks: Vec<sha1::digest::generic_array::GenericArray<u8, _>> = block
                .chunks_exact(64)
                .map(sha1::digest::generic_array::GenericArray::clone_from_slice)
                .collect();
            sha1::compress(state, &blocks);
            self.hashes.push(state_hex(state));
            self.pending_last = false;
        } else {
            self.pending_last = true;
        }
    }

    fn finish(mut self) -> Vec<String> {
        let digest: String = self
            .whole
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        // The last block's value is the whole file's SHA-1, whether it is short or full.
        if self.pending_last || self.hashes.is_empty() {
            self.hashes.push(digest);
        } else if let Some(last) = self.hashes.last_mut() {
            *last = digest;
        }
        self.hashes
    }
}

// Not in the runtime's unit tests, which leave the API groups out.
#[cfg(all(feature = "wedrive", not(test)))]
impl crate::Client {
    /// Uploads a file of any size (up to 20 GiB) to WeDrive with the chunked upload: the
    /// file is read twice from disk in 2 MiB blocks (once for the hashes, once to send),
    /// never held whole. Returns the new file's `fileid`. When WeCom already has the content
    /// (秒传), nothing but the hashes is sent.
    ///
    /// Each step is an ordinary call (token, retries, deadline); `upload_part` sends blocks
    /// one after another.
    ///
    /// ```no_run
    /// use wecom_api::chunked_upload::WedriveTarget;
    /// # async fn example(client: wecom_api::Client) -> wecom_api::Result<()> {
    /// let target = WedriveTarget::Folder { spaceid: "SPACEID".into(), fatherid: "SPACEID".into() };
    /// let fileid = client.wedrive_upload_file("/data/report.pdf", target).await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn wedrive_upload_file(
        &self,
        path: impl AsRef<Path>,
        target: WedriveTarget,
    ) -> Result<String> {
        let path = path.as_ref();
        let file_name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .ok_or_else(|| Error::invalid_argument("path", "has no file name"))?;
        let (size, hashes) = hash_file(path).await?;
        if size > MAX_FILE_SIZE {
            return Err(Error::invalid_argument(
                "path",
                format!("`{file_name}` is {size} bytes; WeDrive accepts at most 20 GiB"),
            ));
        }
        let size_arg = i64::try_from(size)
            .map_err(|_| Error::invalid_argument("path", "file size does not fit in i64"))?;
        let mut init = self.wedrive_file().upload_init(file_name, size_arg, hashes);
        init = match target {
            WedriveTarget::Folder { spaceid, fatherid } => init.spaceid(spaceid).fatherid(fatherid),
            WedriveTarget::SelectedTicket(ticket) => init.selected_ticket(ticket),
        };
        let started = init.await?;
        if started.hit_exist == Some(true) {
            return started.fileid.ok_or_else(|| missing("fileid"));
        }
        let upload_key = started.upload_key.ok_or_else(|| missing("upload_key"))?;
        use base64::Engine as _;
        let mut file = open(path).await?;
        let mut block = vec![0u8; BLOCK_SIZE];
        let mut index = 1;
        loop {
            let filled = read_block(&mut file, &mut block, path).await?;
            if filled == 0 {
                break;
            }
            let content = base64::engine::general_purpose::STANDARD.encode(&block[..filled]);
            self.wedrive_file()
                .upload_part(upload_key.as_str(), index, content)
                .await?;
            index += 1;
            if filled < BLOCK_SIZE {
                break;
            }
        }
        let finished = self.wedrive_file().upload_finish(upload_key).await?;
        finished.fileid.ok_or_else(|| missing("fileid"))
    }
}

#[cfg(all(feature = "wedrive", not(test)))]
fn missing(field: &str) -> Error {
    Error::Decode {
        endpoint: "wedrive chunked upload".into(),
        path: field.to_string(),
        message: format!("WeCom's answer has no `{field}`"),
        excerpt: String::new(),
    }
}

/// The file's size and block hashes, read block by block.
pub async fn hash_file(path: &Path) -> Result<(u64, Vec<String>)> {
    let mut file = open(path).await?;
    let mut block = vec![0u8; BLOCK_SIZE];
    let mut hasher = BlockSha::default();
    let mut size = 0u64;
    loop {
        let filled = read_block(&mut file, &mut block, path).await?;
        if filled == 0 {
            break;
        }
        size += filled as u64;
        hasher.update(&block[..filled]);
        if filled < BLOCK_SIZE {
            break;
        }
    }
    Ok((size, hasher.finish()))
}

async fn open(path: &Path) -> Result<tokio::fs::File> {
    tokio::fs::File::open(path).await.map_err(|e| {
        Error::invalid_argument("path", format!("cannot read {}: {e}", path.display()))
    })
}

/// Fills `block` as far as the file goes; fewer bytes only at the end of the file.
async fn read_block(file: &mut tokio::fs::File, block: &mut [u8], path: &Path) -> Result<usize> {
    let mut filled = 0;
    while filled < block.len() {
        let n = file.read(&mut block[filled..]).await.map_err(|e| {
            Error::invalid_argument("path", format!("cannot read {}: {e}", path.display()))
        })?;
        if n == 0 {
            break;
        }
        filled += n;
    }
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sha1_hex(data: &[u8]) -> String {
        Sha1::digest(data)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    #[test]
    fn an_empty_file_has_one_hash_the_empty_sha1() {
        assert_eq!(block_sha(b""), [sha1_hex(b"")]);
    }

    #[test]
    fn the_last_block_is_the_whole_file_and_earlier_ones_are_states() {
        let data: Vec<u8> = (0..BLOCK_SIZE * 2 + 10).map(|i| (i % 251) as u8).collect();
        let hashes = block_sha(&data);
        assert_eq!(hashes.len(), 3);
        assert_eq!(hashes[2], sha1_hex(&data));
        // The state after one block, finalised by hand, is the SHA-1 of that block: check
        // the state path against a full hash of a one-block file with a full last block.
        let one = &data[..BLOCK_SIZE];
        assert_eq!(block_sha(one), [sha1_hex(one)]);
        // The state after the first block (big-endian words d6727c65 92e7f175 ...), each
        // word's bytes reversed as WeCom's reference tool prints them.
        assert_eq!(hashes[0], "657c72d675f1e792607e5c0a7405f66cbdb8c290");
        assert_ne!(hashes[0], sha1_hex(one));
        assert_ne!(hashes[0], hashes[1]);
    }

    /// The demo file of WeCom's reference tool (github.com/wecomopen/file_block_digest,
    /// `demo/README.md`): 5,999,998 bytes of `1234567890\r\n` repeated, and the three
    /// values its `test_file_block_digest` printed for it.
    #[test]
    fn the_reference_tools_demo_file_gives_its_published_hashes() {
        let data: Vec<u8> = b"1234567890\r\n"
            .iter()
            .copied()
            .cycle()
            .take(5_999_998)
            .collect();
        assert_eq!(
            block_sha(&data),
            [
                "5186fee37e9f7e77a1f6bea8d4e32638d5186d44",
                "cf540965f3190bc0c6367147ab0ac64dc9eff6a0",
                "bda1e884e1cb23a5cbdea73d2e00e23baa72d2f5",
            ]
        );
    }

    #[test]
    fn a_file_of_exactly_two_blocks_ends_with_its_sha1() {
        let data = vec![7u8; BLOCK_SIZE * 2];
        let hashes = block_sha(&data);
        assert_eq!(hashes.len(), 2);
        assert_eq!(hashes[1], sha1_hex(&data));
    }
}
