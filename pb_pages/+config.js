// The plugins of this site (PocketPages' +config.js). In Satchel they are built in: no npm
// install, and the js-sdk plugin needs no `host` because pb() runs in-process.
module.exports = {
  plugins: [
    'pocketpages-plugin-ejs',
    'pocketpages-plugin-js-sdk',
    'pocketpages-plugin-auth',
    'pocketpages-plugin-micro-dash',
  ],
  debug: false,
}
