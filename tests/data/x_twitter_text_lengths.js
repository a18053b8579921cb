// Recounts tests/data/x_twitter_text_lengths.json with X's own twitter-text library:
//   npm install twitter-text@3 && node tests/data/x_twitter_text_lengths.js tests/data/x_twitter_text_lengths.json
// It reads the texts from the file and prints the file anew, with their weighted lengths and URLs.
const fs = require('fs');
const twitter = require('twitter-text');
const texts = JSON.parse(fs.readFileSync(process.argv[2], 'utf8')).cases.map(c => c.text);
const cases = texts.map(text => ({text, weighted_length: twitter.parseTweet(text).weightedLength,
                                  urls: twitter.extractUrls(text)}));
const version = require('twitter-text/package.json').version;
process.stdout.write(JSON.stringify({generated_by: 'twitter-text ' + version, cases}, null, 1) + '\n');
