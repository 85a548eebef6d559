import { createTwoFilesPatch } from 'diff';
const words = ["a\n","b\n","c\n","d\n","x\n","  y\n","z","\n",""];
function rnd(n){let s="";for(let i=0;i<n;i++) s+=words[Math.floor(Math.random()*words.length)];return s;}
const out=[];
for(let i=0;i<2000;i++){const o=rnd(Math.floor(Math.random()*30)); let n=o.split("");
 const nn = Math.random()<0.5 ? rnd(Math.floor(Math.random()*30)) : (()=>{let l=o.split("\n"); for(let k=0;k<3;k++){const p=Math.floor(Math.random()*(l.length+1)); if(Math.random()<0.5) l.splice(p,1); else l.splice(p,0,words[Math.floor(Math.random()*6)].trim());} return l.join("\n");})();
 out.push([o,nn,createTwoFilesPatch("/f","/f",o,nn,"original","modified")]);}
console.log(JSON.stringify(out));
