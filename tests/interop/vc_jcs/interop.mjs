// An independent eddsa-jcs-2022 signer and verifier for tests/interop/test_vc_jcs_interop.py:
// Digital Bazaar's cryptosuite, Data Integrity proof and jsonld-signatures, as published on npm
// (package.json pins them; package-lock.json fixes every transitive version).
//
// Reads one JSON request on stdin, writes one JSON answer on stdout:
//   {"op": "verify", "credential": {...}, "documents": {"<url or DID>": {...}}}
//     -> {"verified": true|false, "error": "<message>"|null}
//   {"op": "sign", "credential": {...unsigned}, "key": {Multikey with secretKeyMultibase},
//    "created": "<date-time>", "documents": {...}}
//     -> {"signed": {...}}
// Nothing is fetched: the document loader answers only from "documents" (a DID document, and a
// verification method by its id inside it); any other URL is an error.
import * as Ed25519Multikey from '@digitalbazaar/ed25519-multikey';
import {DataIntegrityProof} from '@digitalbazaar/data-integrity';
import {
  createSignCryptosuite, createVerifyCryptosuite
} from '@digitalbazaar/eddsa-jcs-2022-cryptosuite';
import jsigs from 'jsonld-signatures';

const {purposes: {AssertionProofPurpose}} = jsigs;
const MULTIKEY_V1 = 'https://w3id.org/security/multikey/v1';

function loaderFor(documents) {
  return async url => {
    const [base, fragment] = url.split('#');
    const doc = documents[base];
    if(doc === undefined) {
      throw new Error(`interop loader: no document for ${url} (nothing is fetched)`);
    }
    if(fragment === undefined) {
      return {contextUrl: null, documentUrl: url, document: doc};
    }
    const method = (doc.verificationMethod || []).find(
      m => m.id === url || m.id === `#${fragment}`);
    if(method === undefined) {
      throw new Error(`interop loader: ${url} is not in the document of ${base}`);
    }
    return {contextUrl: null, documentUrl: url,
      document: {'@context': MULTIKEY_V1, ...method, id: url}};
  };
}

async function verify({credential, documents}) {
  const suite = new DataIntegrityProof({cryptosuite: createVerifyCryptosuite()});
  const result = await jsigs.verify(credential, {
    suite, purpose: new AssertionProofPurpose(), documentLoader: loaderFor(documents)
  });
  const error = result.error ?
    (result.error.errors || [result.error]).map(e => String(e.message || e)).join('; ') : null;
  return {verified: result.verified, error};
}

async function sign({credential, key, created, documents}) {
  const keyPair = await Ed25519Multikey.from({'@context': MULTIKEY_V1, ...key});
  const suite = new DataIntegrityProof({
    signer: keyPair.signer(), date: created, cryptosuite: createSignCryptosuite()
  });
  const signed = await jsigs.sign(credential, {
    suite, purpose: new AssertionProofPurpose(), documentLoader: loaderFor(documents)
  });
  return {signed};
}

const chunks = [];
for await (const chunk of process.stdin) {
  chunks.push(chunk);
}
const request = JSON.parse(Buffer.concat(chunks).toString('utf8'));
const ops = {verify, sign};
const answer = await ops[request.op](request);
process.stdout.write(JSON.stringify(answer) + '\n');
